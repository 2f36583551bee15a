'use strict';
// The model of a counting semaphore that the property tests check the
// package against (its value, the units each handle holds, the pending
// acquire), and the fast-check commands that drive HANDLES handles to one
// name and the model side by side, step by step.
const { expect } = require('chai');
const fc = require('fast-check');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore } = require('./helpers');

const MAX = require('../../dist/binding').constants.SEM_VALUE_MAX;
const CLOSED = 'ERR_SEMAPHORE_CLOSED';
const HANDLES = 2;

// What a call did: { ok: result } or { error: code }.
function outcome(fn) {
  try {
    return { ok: fn() };
  } catch (err) {
    return { error: err.code ?? String(err) };
  }
}
function settle(promise) {
  return promise.then(
    (value) => ({ ok: value }),
    (err) => ({ error: err.code ?? String(err) }),
  );
}
const ok = (value) => ({ ok: value });
const fail = (code) => ({ error: code });

// The pending acquire(), seen from outside: { state, result } updated when it settles.
function track(promise, controller, h) {
  const tracked = { h, controller, state: 'pending', result: undefined };
  tracked.done = settle(promise).then((result) => {
    tracked.state = 'settled';
    tracked.result = result;
    return result;
  });
  return tracked;
}

function take(m, h) {
  m.value--;
  m.held[h]++;
}

class TryWait {
  constructor(h) {
    this.h = h;
  }
  check() {
    return true;
  }
  async run(m, r) {
    const got = outcome(() => r.sems[this.h].tryWait());
    let want;
    if (!m.open[this.h]) want = fail(CLOSED);
    else if (m.value > 0) {
      want = ok(undefined);
      take(m, this.h);
    } else want = fail('EAGAIN');
    expect(got, String(this)).to.deep.equal(want);
  }
  toString() {
    return `tryWait(${this.h})`;
  }
}

class TryAcquire {
  constructor(h) {
    this.h = h;
  }
  check() {
    return true;
  }
  async run(m, r) {
    const got = outcome(() => r.sems[this.h].tryAcquire());
    let want;
    if (!m.open[this.h]) want = fail(CLOSED);
    else if (m.pending?.h === this.h)
      want = ok(false); // never overtakes its own queue
    else if (m.value > 0) {
      want = ok(true);
      take(m, this.h);
    } else want = ok(false);
    expect(got, String(this)).to.deep.equal(want);
  }
  toString() {
    return `tryAcquire(${this.h})`;
  }
}

class Post {
  constructor(h, method) {
    this.h = h;
    this.method = method;
  }
  check() {
    return true;
  }
  async run(m, r) {
    const got = outcome(() => r.sems[this.h][this.method]());
    let want;
    if (!m.open[this.h]) want = fail(CLOSED);
    else if (m.value === MAX) want = fail('EOVERFLOW');
    else {
      want = ok(undefined);
      m.held[this.h]--;
      m.value++;
    }
    expect(got, String(this)).to.deep.equal(want);
    if (!want.error && m.pending) {
      // The posted unit goes to the pending acquire (the only waiter).
      const result = await r.pending.done;
      expect(result, `the pending acquire(${m.pending.h}) after ${this}`).to.deep.equal(ok(undefined));
      take(m, m.pending.h);
      m.pending = undefined;
      r.pending = undefined;
    }
  }
  toString() {
    return `${this.method}(${this.h})`;
  }
}

// acquire() that settles by itself: timeout 0, a short timeout, or an aborted signal.
class Acquire {
  constructor(h, how) {
    this.h = h;
    this.how = how;
  }
  check() {
    return true;
  }
  async run(m, r) {
    const sem = r.sems[this.h];
    let promise;
    if (this.how === 'aborted') promise = sem.acquire({ signal: AbortSignal.abort() });
    else if (this.how === 'withLock') promise = sem.withLock(() => 'ran', { timeout: 0 });
    else promise = sem.acquire({ timeout: this.how });
    const got = await settle(promise);
    let want;
    if (!m.open[this.h]) want = fail(CLOSED);
    else if (this.how === 'aborted') want = fail('ABORT_ERR');
    else if (m.value > 0 && m.pending?.h !== this.h) {
      if (this.how === 'withLock')
        want = ok('ran'); // taken and given back
      else {
        want = ok(undefined);
        take(m, this.h);
      }
    } else want = fail('ETIMEDOUT');
    expect(got, String(this)).to.deep.equal(want);
  }
  toString() {
    return this.how === 'withLock'
      ? `withLock(${this.h}, { timeout: 0 })`
      : `acquire(${this.h}, ${this.how === 'aborted' ? 'aborted signal' : `{ timeout: ${this.how} }`})`;
  }
}

// acquire() that must wait: only when the semaphore is taken and nothing else waits.
class StartAcquire {
  constructor(h) {
    this.h = h;
  }
  check(m) {
    return m.pending === undefined && m.open[this.h] && m.value === 0;
  }
  async run(m, r) {
    const controller = new AbortController();
    r.pending = track(r.sems[this.h].acquire({ signal: controller.signal }), controller, this.h);
    m.pending = { h: this.h };
    await sleep(2);
    expect(r.pending.state, `${this} settled while the semaphore was taken: ${JSON.stringify(r.pending.result)}`).to.equal('pending');
  }
  toString() {
    return `start acquire(${this.h})`;
  }
}

class AbortPending {
  check(m) {
    return m.pending !== undefined;
  }
  async run(m, r) {
    r.pending.controller.abort();
    const result = await r.pending.done;
    expect(result, String(this)).to.deep.equal(fail('ABORT_ERR'));
    m.pending = undefined;
    r.pending = undefined;
  }
  toString() {
    return 'abort the pending acquire';
  }
}

class Close {
  constructor(h) {
    this.h = h;
  }
  check() {
    return true;
  }
  async run(m, r) {
    const got = outcome(() => r.sems[this.h].close());
    expect(got, String(this)).to.deep.equal(ok(undefined)); // twice is a no-op
    expect(r.sems[this.h].closed).to.equal(true);
    m.open[this.h] = false;
    if (m.pending?.h === this.h) {
      expect(await r.pending.done, 'the pending acquire after close()').to.deep.equal(fail(CLOSED));
      m.pending = undefined;
      r.pending = undefined;
    }
  }
  toString() {
    return `close(${this.h})`;
  }
}

class Reopen {
  constructor(h) {
    this.h = h;
  }
  check(m) {
    return !m.open[this.h];
  }
  async run(m, r) {
    r.sems[this.h] = new Semaphore(r.name, { create: false });
    m.open[this.h] = true;
    m.held[this.h] = 0;
  }
  toString() {
    return `reopen(${this.h})`;
  }
}

class Value {
  constructor(h) {
    this.h = h;
  }
  check() {
    return true;
  }
  async run(m, r) {
    const got = outcome(() => r.sems[this.h].value);
    expect(got, String(this)).to.deep.equal(m.open[this.h] ? ok(m.value) : fail(CLOSED));
  }
  toString() {
    return `value(${this.h})`;
  }
}

const handle = fc.integer({ min: 0, max: HANDLES - 1 });
const commands = [
  handle.map((h) => new TryWait(h)),
  handle.map((h) => new TryAcquire(h)),
  fc.tuple(handle, fc.constantFrom('post', 'release')).map(([h, method]) => new Post(h, method)),
  fc.tuple(handle, fc.constantFrom(0, 0, 1, 5, 'aborted', 'withLock')).map(([h, how]) => new Acquire(h, how)),
  handle.map((h) => new StartAcquire(h)),
  fc.constant(new AbortPending()),
  handle.map((h) => new Close(h)),
  handle.map((h) => new Reopen(h)),
  handle.map((h) => new Value(h)),
];
const initialValue = fc.constantFrom(0, 1, 2, 3, MAX - 2, MAX - 1, MAX);

module.exports = { MAX, CLOSED, HANDLES, handle, commands, initialValue };
