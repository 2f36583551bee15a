'use strict';
// The waiting protocol (src/async/shared-wait.ts, native/async_calls.cc): the
// handles of one semaphore in a thread share one queue and one native wait;
// waits run on the addon's own threads (native/wait_thread.h), never on the
// libuv pool, at most a cap of them per process, reused.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run } = require('../support/helpers');
const { constants } = require('node:os');
const { native } = require('../../dist/binding');

const { EBUSY } = constants.errno;

// Settles to 'resolved' / the rejection's code, or 'pending' once `ms` passed.
function outcome(promise, ms = 0) {
  let timer;
  const pending = new Promise((resolve) => {
    timer = setTimeout(resolve, ms, 'pending');
  });
  return Promise.race([
    promise.then(
      () => 'resolved',
      (err) => err.code ?? err.name,
    ),
    pending,
  ]).finally(() => clearTimeout(timer));
}

// Resolves once `check()` is true, polling every few ms; rejects after `ms`.
async function eventually(check, ms = 2000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms: ${check}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const idle = () => native.waitThreads()[0] === 0;

describe("waiting: one queue per semaphore, the addon's own threads", () => {
  afterEach(unlinkAll);
  let sems = [];
  const open = (name, options) => {
    const sem = new Semaphore(name, options);
    sems.push(sem);
    return sem;
  };
  afterEach(async () => {
    for (const sem of sems) sem.close();
    sems = [];
    await eventually(idle); // no wait left in flight, on the pool or off it
  });

  describe('handles of one name in one thread', () => {
    // Each of these races the unit posted against another handle's newcomer;
    // 20 rounds, so that a queue per handle (the 1.0.0 design) fails.
    it('a unit posted while one handle waits goes to that acquire(), not to a newcomer on another handle', async () => {
      const name = uniqueName();
      const a = open(name, { value: 0 });
      const b = open(name);
      for (let round = 0; round < 20; round++) {
        const order = [];
        const first = a.acquire().then(() => order.push('first'));
        b.post(); // the waiting acquire is first in line...
        const second = b.acquire().then(() => order.push('second')); // ...so this one, called after, waits
        a.post();
        await Promise.all([first, second]);
        expect(order, `round ${round}`).to.deep.equal(['first', 'second']);
        expect(a.value).to.equal(0);
      }
    });

    it('tryAcquire() on another handle returns false while an acquire() of the name waits', async () => {
      const name = uniqueName();
      const a = open(name, { value: 0 });
      const b = open(name);
      for (let round = 0; round < 20; round++) {
        const waiting = a.acquire();
        b.post();
        expect(b.tryAcquire(), `round ${round}`).to.equal(false);
        await waiting;
        expect(a.value).to.equal(0);
      }
    });

    it('acquires across four handles resolve in the order they were called, units posted four at a time', async () => {
      const name = uniqueName();
      const handles = [0, 1, 2, 3].map(() => open(name, { value: 0 }));
      const order = [];
      const calls = [];
      for (let i = 0; i < 16; i++) calls.push(handles[(i * 3) % 4].acquire().then(() => order.push(i)));
      for (let batch = 1; batch <= 4; batch++) {
        for (const handle of handles) handle.post();
        await eventually(() => order.length === 4 * batch);
      }
      await Promise.all(calls);
      expect(order).to.deep.equal([...Array(16).keys()]);
      expect(handles[0].value).to.equal(0);
    });

    it('one native wait serves them all: a second is refused (EBUSY)', async () => {
      const name = uniqueName();
      const a = open(name, { value: 0 });
      const b = open(name);
      const key = native.waitKey(a.handle);
      expect(native.waitKey(b.handle)).to.equal(key); // one mapping per process
      const waiter = native.openWaiter(a.handle);
      expect(native.openWaiter(b.handle)).to.equal(-EBUSY);
      const results = [];
      expect(native.startWait(waiter, a.handle, 50, (err) => void results.push(err))).to.equal(undefined);
      expect(native.startWait(waiter, b.handle, 50, (err) => void results.push(err))).to.equal(-EBUSY);
      native.setWanted(waiter, false);
      await eventually(() => results.length === 1);
      native.closeWaiter(waiter);
      const again = native.openWaiter(b.handle); // free again
      expect(typeof again).to.equal('object');
      native.closeWaiter(again);
    });

    it('closing the handle the wait runs through leaves the other handles waiting; the next unit reaches them', async () => {
      const name = uniqueName();
      const a = open(name, { value: 0 });
      const b = open(name);
      const poster = open(name);
      const first = a.acquire(); // the native wait runs through a
      const second = b.acquire();
      a.close();
      expect(await outcome(first)).to.equal('ERR_SEMAPHORE_CLOSED');
      expect(await outcome(second, 150)).to.equal('pending');
      poster.post();
      expect(await outcome(second, 1000)).to.equal('resolved');
      expect(poster.value).to.equal(0);
      b.release();
      expect(poster.value).to.equal(1);
    });

    it('an acquire() that times out while the wait is in flight holds nothing; the next in line gets the unit', async () => {
      const name = uniqueName();
      const a = open(name, { value: 0 });
      const b = open(name);
      const first = a.acquire({ timeout: 30 });
      const second = b.acquire();
      expect(await outcome(first, 1000)).to.equal('ETIMEDOUT');
      a.post();
      expect(await outcome(second, 1000)).to.equal('resolved');
      expect(a.value).to.equal(0);
      b.release();
      expect(a.value).to.equal(1);
    });

    it('when every acquire() gives up (timeout, abort, close), a unit posted then comes back: no unit held, no wait left', async () => {
      const name = uniqueName();
      const a = open(name, { value: 0 });
      const b = open(name);
      const c = open(name);
      const poster = open(name);
      const controller = new AbortController();
      const all = [a.acquire({ timeout: 20 }), b.acquire({ signal: controller.signal }), c.acquire()];
      controller.abort();
      c.close();
      expect(await Promise.all(all.map((p) => outcome(p, 1000)))).to.deep.equal(['ETIMEDOUT', 'ABORT_ERR', 'ERR_SEMAPHORE_CLOSED']);
      poster.post(); // the wait still in flight may take it: it must give it back
      await eventually(() => poster.value === 1 && idle());
      await a.acquire(); // and the unit is there to take
      expect(poster.value).to.equal(0);
      a.release();
    });
  });

  describe("the addon's wait threads (a child process per case)", () => {
    const names = (n) => Array.from({ length: n }, () => new Semaphore(uniqueName('pool'), { value: 0 }));

    async function postAllAndCheck(child, sems) {
      const threads = JSON.parse((await child.line(/^threads /)).slice('threads '.length));
      for (const sem of sems) sem.post();
      const { code, stdout, stderr } = await child.done;
      expect(code, stderr).to.equal(0);
      expect(stdout).to.match(new RegExp(`^resolved ${sems.length}$`, 'm'));
      const after = JSON.parse(stdout.trim().split('\n').pop().slice('threads '.length));
      for (const sem of sems) {
        expect(sem.value).to.equal(0);
        sem.close();
      }
      return { threads, after };
    }

    it('each waiting name of the process has a thread of its own under the cap, whatever UV_THREADPOOL_SIZE; all resolve', async () => {
      const sems = names(5);
      const child = run('pool-waits.js', [sems.map((s) => s.name).join(',')], { env: { UV_THREADPOOL_SIZE: '2' } });
      const { threads, after } = await postAllAndCheck(child, sems);
      expect(threads).to.deep.equal([5, 5, 128]);
      expect(after[0]).to.equal(0);
    });

    it('worker threads share the threads of the process: main and two workers past a cap of 3 share 3 threads, and all resolve', async () => {
      const sems = names(6);
      const groups = [sems.slice(0, 2), sems.slice(2, 4), sems.slice(4)].map((g) => g.map((s) => s.name).join(','));
      const child = run('pool-waits.js', groups, { env: { POSIX_SEMAPHORE_WAIT_THREADS: '3' } });
      const { threads, after } = await postAllAndCheck(child, sems);
      expect(threads).to.deep.equal([6, 3, 3]);
      expect(after[0]).to.equal(0);
    });

    it('a worker terminated while its acquires wait ends promptly; no crash, no unit lost', async () => {
      const sems = names(3);
      const child = run('pool-waits.js', ['--terminate', '', sems.map((s) => s.name).join(',')]);
      const threads = JSON.parse((await child.line(/^threads /)).slice('threads '.length));
      expect(threads.slice(0, 2)).to.deep.equal([3, 3]);
      const { code, stdout, stderr } = await child.done;
      expect(code, stderr).to.equal(0);
      expect(Number(/terminated in (\d+) ms/.exec(stdout)[1]), 'terminate() took (ms)').to.be.below(1000);
      for (const sem of sems) {
        sem.post();
        expect(sem.value, 'a wait left over took the unit').to.equal(1);
        sem.close();
      }
    });
  });
});
