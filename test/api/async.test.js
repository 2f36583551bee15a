'use strict';
const { expect } = require('chai');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore, uniqueName, unlinkAll } = require('../support/helpers');

// Settles to 'resolved' / the rejection's code, or 'pending' after `ms`.
async function outcome(promise, ms = 0) {
  const timer = sleep(ms).then(() => 'pending');
  return Promise.race([
    promise.then(
      () => 'resolved',
      (err) => err.code ?? err.name,
    ),
    timer,
  ]);
}

describe('Promise API', () => {
  afterEach(unlinkAll);
  let sems = [];
  const open = (name, options) => {
    const sem = new Semaphore(name, options);
    sems.push(sem);
    return sem;
  };
  afterEach(() => {
    for (const sem of sems) sem.close();
    sems = [];
  });

  it('acquire() of a free semaphore resolves at once and takes a unit', async () => {
    const sem = open(uniqueName(), { value: 2 });
    await sem.acquire();
    expect(sem.value).to.equal(1);
    sem.release();
    expect(sem.value).to.equal(2);
  });

  it('acquire() waits until a unit is released, then resolves', async () => {
    const name = uniqueName();
    const a = open(name, { value: 1 });
    const b = open(name);
    await a.acquire();
    const waiting = b.acquire();
    expect(await outcome(waiting, 150)).to.equal('pending');
    a.release();
    expect(await outcome(waiting, 1000)).to.equal('resolved');
    expect(a.value).to.equal(0);
    b.release();
    expect(a.value).to.equal(1);
  });

  it('acquires of one handle are granted in FIFO order', async () => {
    const name = uniqueName();
    const sem = open(name, { value: 0 });
    const poster = open(name);
    const order = [];
    const all = [0, 1, 2, 3, 4].map((i) => sem.acquire().then(() => order.push(i)));
    await sleep(50);
    for (let i = 0; i < 5; i++) {
      poster.post();
      await sleep(20);
    }
    await Promise.all(all);
    expect(order).to.deep.equal([0, 1, 2, 3, 4]);
    expect(sem.value).to.equal(0);
  });

  it('the fast path does not overtake queued acquires of the same handle', async () => {
    const name = uniqueName();
    const sem = open(name, { value: 0 });
    const order = [];
    const first = sem.acquire().then(() => order.push('first'));
    await sleep(20);
    sem.post(); // a unit appears; the queued acquire must get it, not a newcomer
    const second = sem.acquire().then(() => order.push('second'));
    await first;
    expect(order).to.deep.equal(['first']);
    expect(await outcome(second, 100)).to.equal('pending');
    sem.post();
    await second;
    expect(order).to.deep.equal(['first', 'second']);
  });

  it('tryAcquire() takes a free unit, returns false when taken or when acquires are queued', async () => {
    const sem = open(uniqueName(), { value: 1 });
    expect(sem.tryAcquire()).to.equal(true);
    expect(sem.tryAcquire()).to.equal(false);
    const queued = sem.acquire();
    sem.post();
    expect(sem.tryAcquire()).to.equal(false); // the queued acquire is first in line
    await queued;
    sem.release();
    expect(sem.value).to.equal(1);
  });

  it('timeout: rejects with ETIMEDOUT near the deadline and holds no unit', async () => {
    const sem = open(uniqueName(), { value: 0 });
    const start = Date.now();
    let error;
    try {
      await sem.acquire({ timeout: 250 });
    } catch (err) {
      error = err;
    }
    const elapsed = Date.now() - start;
    expect(error).to.be.instanceOf(Semaphore.SemaphoreError);
    expect(error.code).to.equal('ETIMEDOUT');
    expect(elapsed).to.be.at.least(245);
    expect(elapsed).to.be.below(250 + 150); // within one slice of the deadline
    expect(sem.value).to.equal(0);
    // A unit posted now may be taken by the wait slice still in flight for
    // the timed-out acquire; it must come straight back (within the slice).
    sem.post();
    await sleep(150);
    expect(sem.value).to.equal(1);
  });

  it('timeout: 0 never waits: resolves when free, rejects ETIMEDOUT when taken', async () => {
    const sem = open(uniqueName(), { value: 1 });
    await sem.acquire({ timeout: 0 });
    expect(await outcome(sem.acquire({ timeout: 0 }))).to.equal('ETIMEDOUT');
    sem.release();
    expect(sem.value).to.equal(1);
  });

  it('a timed-out acquire in the middle of the queue does not disturb the others', async () => {
    const name = uniqueName();
    const sem = open(name, { value: 0 });
    const a = sem.acquire();
    const b = sem.acquire({ timeout: 50 });
    const c = sem.acquire();
    expect(await outcome(b, 500)).to.equal('ETIMEDOUT');
    sem.post();
    sem.post();
    expect(await outcome(a, 1000)).to.equal('resolved');
    expect(await outcome(c, 1000)).to.equal('resolved');
    expect(sem.value).to.equal(0);
  });

  it('abort during the wait rejects with an AbortError (ABORT_ERR, cause = reason) and holds no unit, even one posted while its wait slice is still in flight', async () => {
    const name = uniqueName();
    const sem = open(name, { value: 0 });
    const other = open(name);
    const controller = new AbortController();
    const waiting = sem.acquire({ signal: controller.signal });
    await sleep(30); // its wait slice (100 ms) is on the threadpool now
    const reason = new Error('shutting down');
    controller.abort(reason);
    let error;
    try {
      await waiting;
    } catch (err) {
      error = err;
    }
    expect(error.name).to.equal('AbortError');
    expect(error.code).to.equal('ABORT_ERR');
    expect(error.cause).to.equal(reason);
    // The slice still waits: a unit posted now must not stay with it. This
    // thread blocks in a sync wait, so only the slice itself can give it
    // back; an aborted slice that kept it would leave the wait to time out.
    other.post();
    const start = Date.now();
    let taken;
    try {
      other.timedWait(1000);
      taken = 'acquired';
    } catch (err) {
      taken = err.code;
    }
    expect(taken, 'a sync wait for the unit posted while the aborted slice was in flight').to.equal('acquired');
    expect(Date.now() - start).to.be.below(500);
    other.post();
    await sleep(150); // let the slice in flight come back
    expect(sem.value).to.equal(1);
  });

  it('an already-aborted signal rejects at once, even when the semaphore is free', async () => {
    const sem = open(uniqueName(), { value: 1 });
    const result = await outcome(sem.acquire({ signal: AbortSignal.abort() }));
    expect(result).to.equal('ABORT_ERR');
    expect(sem.value).to.equal(1);
  });

  it('close() with acquires pending rejects them all with ERR_SEMAPHORE_CLOSED; the value is exact', async () => {
    const name = uniqueName();
    const sem = open(name, { value: 0 });
    const other = open(name);
    const pending = [sem.acquire(), sem.acquire({ timeout: 5000 }), sem.acquire({ signal: new AbortController().signal })];
    await sleep(30);
    sem.close();
    const results = await Promise.all(pending.map((p) => outcome(p, 1000)));
    expect(results).to.deep.equal(['ERR_SEMAPHORE_CLOSED', 'ERR_SEMAPHORE_CLOSED', 'ERR_SEMAPHORE_CLOSED']);
    // The slice still in flight may take a unit posted now: it must give it back.
    other.post();
    await sleep(250);
    expect(other.value).to.equal(1);
    expect(await outcome(sem.acquire())).to.equal('ERR_SEMAPHORE_CLOSED');
  });

  it('a unit granted to an acquire that timed out at the same instant is given back (loop)', async () => {
    const name = uniqueName();
    const sem = open(name, { value: 0 });
    const poster = open(name);
    for (let i = 0; i < 40; i++) {
      const p = outcome(sem.acquire({ timeout: 5 + (i % 5) }), 1000);
      await sleep(5 + (i % 7));
      poster.post();
      const result = await p;
      if (result === 'resolved') sem.release();
      await sleep(1);
      // Whatever won the race, no unit is lost and none is made up.
      for (let tries = 0; tries < 50 && poster.value !== 1; tries++) await sleep(10);
      expect(poster.value, `iteration ${i}: ${result}`).to.equal(1);
      poster.wait();
    }
  });

  it('after the last acquire gives up, its wait slice still in flight does not sit on a unit', async () => {
    const { execFileSync } = require('node:child_process');
    const name = uniqueName();
    const a = open(name, { value: 1 });
    const b = open(name);
    const probe = `const S = require(${JSON.stringify(require.resolve('../..'))}); const s = new S(${JSON.stringify(name)}); try { s.tryWait(); s.post(); console.log('free') } catch (e) { console.log(e.code) }`;
    const seen = [];
    for (let i = 0; i < 5; i++) {
      await a.acquire();
      expect(await outcome(b.acquire({ timeout: 120 }), 1000)).to.equal('ETIMEDOUT'); // b's slice is still waiting
      a.release();
      // This event loop is blocked while another process looks: the unit must
      // be free without any help from JS here.
      seen.push(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim());
      await sleep(120);
    }
    expect(seen).to.deep.equal(['free', 'free', 'free', 'free', 'free']);
  });

  it('withLock(fn) returns what fn returns and releases after it', async () => {
    const sem = open(uniqueName(), { value: 1 });
    const result = await sem.withLock(async () => {
      expect(sem.value).to.equal(0);
      await sleep(5);
      return 42;
    });
    expect(result).to.equal(42);
    expect(sem.value).to.equal(1);
  });

  it('withLock(fn) releases when fn throws, and passes the error on', async () => {
    const sem = open(uniqueName(), { value: 1 });
    let error;
    try {
      await sem.withLock(() => {
        throw new Error('boom');
      });
    } catch (err) {
      error = err;
    }
    expect(error.message).to.equal('boom');
    expect(sem.value).to.equal(1);
  });

  it('withLock(fn, { timeout }) rejects with ETIMEDOUT without running fn', async () => {
    const sem = open(uniqueName(), { value: 0 });
    let ran = false;
    const result = await outcome(
      sem.withLock(() => (ran = true), { timeout: 30 }),
      1000,
    );
    expect(result).to.equal('ETIMEDOUT');
    expect(ran).to.equal(false);
  });

  it('many handles and many acquires: every acquire resolves exactly once, value restored', async () => {
    const name = uniqueName();
    const handles = [0, 1, 2, 3].map(() => open(name, { value: 2 }));
    let inside = 0;
    let most = 0;
    const jobs = [];
    for (let i = 0; i < 200; i++) {
      const sem = handles[i % handles.length];
      jobs.push(
        sem.withLock(async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(0);
          inside--;
        }),
      );
    }
    await Promise.all(jobs);
    expect(most).to.equal(2);
    expect(handles[0].value).to.equal(2);
  });
});
