'use strict';
// Property-based tests (fast-check): random sequences of operations on two
// handles to one name, checked step by step against a model of a counting
// semaphore (its value, the units each handle holds, the pending acquire).
// Values, errors and resolutions must agree; fast-check shrinks any
// disagreement to a minimal sequence.
const { expect } = require('chai');
const fc = require('fast-check');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore, uniqueName, unlinkAll, runToEnd } = require('../support/helpers');

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
    else if (m.pending?.h === this.h) want = ok(false); // never overtakes its own queue
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
      if (this.how === 'withLock') want = ok('ran'); // taken and given back
      else {
        want = ok(undefined);
        take(m, this.h);
      }
    } else want = fail('ETIMEDOUT');
    expect(got, String(this)).to.deep.equal(want);
  }
  toString() {
    return this.how === 'withLock' ? `withLock(${this.h}, { timeout: 0 })` : `acquire(${this.h}, ${this.how === 'aborted' ? 'aborted signal' : `{ timeout: ${this.how} }`})`;
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

describe('property: operation sequences agree with a model', function () {
  this.timeout(60000);
  afterEach(unlinkAll);

  // A rejected acquire() holds nothing, from the moment it is rejected: the
  // steps that follow one need no pause (before 4b8906d its wait slice could
  // take the next unit posted, for up to 100 ms).
  async function checkSequences(numRuns) {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(initialValue, fc.commands(commands, { maxCommands: 40, size: 'medium' }), async (value, cmds) => {
        runs++;
        const name = uniqueName('prop');
        const observer = new Semaphore(name, { value, exclusive: true });
        const r = { name, sems: [], pending: undefined };
        const m = { value, open: [], held: [], pending: undefined };
        for (let h = 0; h < HANDLES; h++) {
          r.sems.push(new Semaphore(name, { create: false }));
          m.open.push(true);
          m.held.push(0);
        }
        try {
          await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
          expect(observer.value, 'value seen by a third handle at the end').to.equal(m.value);
          // The pending acquire never resolved on its own.
          if (r.pending) expect(r.pending.state).to.equal('pending');
        } finally {
          for (const sem of r.sems) sem.close();
          if (r.pending) await r.pending.done;
          observer.close();
          Semaphore.unlink(name);
        }
      }),
      { numRuns },
    );
    expect(runs).to.be.at.least(numRuns);
  }

  it('two handles, one name: every value, error and resolution is what the model says', async () => {
    await checkSequences(100);
  });

  // Each run in its own process, which ends with handles still open: the
  // units each releaseOnExit handle holds (taken minus posted through it)
  // come back, and no others.
  it('at exit, each releaseOnExit handle gives back exactly the units it holds', async () => {
    const op = fc.tuple(fc.constantFrom('tryWait', 'tryAcquire', 'post', 'acquire0', 'close', 'reopen'), handle);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 2, 3, MAX - 1),
        fc.array(fc.boolean(), { minLength: HANDLES, maxLength: HANDLES }),
        fc.array(op, { maxLength: 25 }),
        fc.constantFrom('end', 'exit', 'throw'),
        async (value, release, ops, ending) => {
          const name = uniqueName('prop-exit');
          const observer = new Semaphore(name, { value, exclusive: true });
          try {
            const { code, stdout, stderr } = await runToEnd('fault-exit-ops.js', [name, JSON.stringify({ release, ops, ending })]);
            expect(code, stderr).to.equal(ending === 'end' ? 0 : ending === 'exit' ? 3 : 1);
            // The model.
            const m = { value, open: release.map(() => true), held: release.map(() => 0) };
            const want = [];
            for (const [what, h] of ops) {
              if (what === 'reopen') {
                if (!m.open[h]) {
                  m.open[h] = true;
                  m.held[h] = 0;
                }
                want.push('ok');
              } else if (what === 'close') {
                m.open[h] = false;
                want.push('ok');
              } else if (!m.open[h]) {
                want.push(CLOSED);
              } else if (what === 'post') {
                if (m.value === MAX) want.push('EOVERFLOW');
                else {
                  m.value++;
                  m.held[h]--;
                  want.push('ok');
                }
              } else if (m.value > 0) {
                m.value--;
                m.held[h]++;
                want.push(what === 'tryAcquire' ? 'true' : 'ok');
              } else {
                want.push({ tryWait: 'EAGAIN', tryAcquire: 'false', acquire0: 'ETIMEDOUT' }[what]);
              }
            }
            let final = m.value;
            for (let h = 0; h < HANDLES; h++) {
              if (release[h] && m.open[h]) final = Math.min(MAX, final + Math.max(0, m.held[h]));
            }
            expect(JSON.parse(stdout.split('\n')[0]), 'outcomes').to.deep.equal(want);
            expect(observer.value, 'value after the process ended').to.equal(final);
          } finally {
            observer.close();
            Semaphore.unlink(name);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
