'use strict';
// One behavioural suite, run against every class that implements
// SharedSemaphore: the POSIX Semaphore and the RedisSemaphore. Code written
// against the shared interface must see the same answers from both.
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, failure } = require('../support/helpers');
const { RedisSemaphore } = require('posix-semaphore/redis');
const { useRedis, doneWithRedis, cleanKeys, uniqueRedisName, SKIP_MESSAGE } = require('../support/redis');

const { SemaphoreError, AbortError } = Semaphore;

const flavours = [
  {
    title: 'Semaphore (POSIX)',
    async setUp() {},
    name: () => uniqueName('contract'),
    open: (name, value) => new Semaphore(name, { value }),
    async cleanUp() {
      unlinkAll();
    },
    async tearDown() {},
  },
  {
    title: 'RedisSemaphore',
    url: undefined,
    async setUp(suite) {
      this.url = await useRedis();
      if (this.url === undefined) {
        console.log(`      skipped: ${SKIP_MESSAGE}`);
        suite.skip();
      }
    },
    name: () => uniqueRedisName('contract'),
    open(name, value) {
      return new RedisSemaphore(name, { url: this.url, value });
    },
    async cleanUp() {
      await cleanKeys(this.url);
    },
    async tearDown() {
      if (this.url !== undefined) await doneWithRedis();
    },
  },
];

/**
 * Whether `sem.tryAcquire()` succeeds within a second (it then holds the
 * unit). After a rejected acquire() the POSIX class may still have a wait
 * slice in flight, which can take a unit posted meanwhile and gives it back
 * when the slice returns to JS (within SLICE_MS): "holds nothing" is checked
 * once that had time to happen.
 */
async function freeSoon(sem) {
  for (const deadline = Date.now() + 1000; Date.now() < deadline; await sleep(10)) {
    if (await sem.tryAcquire()) return true;
  }
  return false;
}

/** Whether `promise` is still pending after `ms`. */
async function stillPending(promise, ms = 50) {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return !settled;
}

for (const flavour of flavours) {
  describe(`SharedSemaphore contract: ${flavour.title}`, function () {
    const handles = [];
    let name;
    // A handle on this test's semaphore, closed after the test.
    const open = (value = 1) => {
      const sem = flavour.open(name, value);
      handles.push(sem);
      return sem;
    };

    before(async function () {
      await flavour.setUp(this);
    });
    after(async () => {
      await flavour.tearDown();
    });
    beforeEach(() => {
      name = flavour.name();
    });
    afterEach(async () => {
      for (const sem of handles.splice(0)) await sem.close();
      await flavour.cleanUp();
    });

    it('acquire() takes units up to value from one handle; release() gives one back', async () => {
      const a = open(2);
      const b = open(2);
      await a.acquire();
      await a.acquire();
      expect(await b.tryAcquire()).to.equal(false);
      await a.release();
      expect(await b.tryAcquire()).to.equal(true);
      expect(await a.tryAcquire()).to.equal(false);
      await a.release();
      await b.release();
    });

    it('tryAcquire() takes a free unit and returns false when none is free', async () => {
      const a = open();
      const b = open();
      expect(await a.tryAcquire()).to.equal(true);
      expect(await b.tryAcquire()).to.equal(false);
      expect(await a.tryAcquire()).to.equal(false);
      await a.release();
      expect(await b.tryAcquire()).to.equal(true);
      await b.release();
    });

    it('a waiting acquire() resolves when another handle releases', async () => {
      const a = open();
      const b = open();
      await a.acquire();
      const waiting = b.acquire({ timeout: 10_000 });
      expect(await stillPending(waiting)).to.equal(true);
      await a.release();
      await waiting;
      expect(await a.tryAcquire()).to.equal(false);
      await b.release();
    });

    it('acquire() calls on one handle are served in FIFO order', async () => {
      const a = open();
      const b = open();
      await a.acquire();
      const order = [];
      const waits = [1, 2, 3].map((i) => b.acquire({ timeout: 10_000 }).then(() => order.push(i)));
      expect(await b.tryAcquire()).to.equal(false); // others wait on this handle
      await a.release();
      await waits[0];
      await b.release();
      await waits[1];
      await b.release();
      await waits[2];
      await b.release();
      expect(order).to.deep.equal([1, 2, 3]);
    });

    it('acquire({ timeout }) rejects with SemaphoreError ETIMEDOUT after about timeout ms, holding nothing', async () => {
      const a = open();
      const b = open();
      await a.acquire();
      const start = Date.now();
      const err = await failure(b.acquire({ timeout: 200 }));
      const elapsed = Date.now() - start;
      expect(err).to.be.instanceOf(SemaphoreError);
      expect(err.code).to.equal('ETIMEDOUT');
      expect(elapsed).to.be.within(150, 5000);
      await a.release();
      expect(await freeSoon(a)).to.equal(true); // the timed-out acquire took nothing
      await a.release();
    });

    it('acquire({ timeout: 0 }) takes a free unit, and rejects with ETIMEDOUT at once when none is free', async () => {
      const a = open();
      const b = open();
      await a.acquire({ timeout: 0 });
      const start = Date.now();
      const err = await failure(b.acquire({ timeout: 0 }));
      expect(err).to.be.instanceOf(SemaphoreError);
      expect(err.code).to.equal('ETIMEDOUT');
      expect(Date.now() - start).to.be.below(1000);
      await a.release();
    });

    it('an already-aborted signal rejects with AbortError and takes nothing, even when a unit is free', async () => {
      const a = open();
      const controller = new AbortController();
      controller.abort(new Error('stop'));
      const err = await failure(a.acquire({ signal: controller.signal }));
      expect(err).to.be.instanceOf(AbortError);
      expect(err).to.include({ name: 'AbortError', code: 'ABORT_ERR' });
      expect(err.cause).to.equal(controller.signal.reason);
      expect(await a.tryAcquire()).to.equal(true);
      await a.release();
    });

    it('aborting during the wait rejects with AbortError, and the aborted acquire holds nothing', async () => {
      const a = open();
      const b = open();
      await a.acquire();
      const controller = new AbortController();
      const waiting = b.acquire({ signal: controller.signal });
      expect(await stillPending(waiting)).to.equal(true);
      controller.abort();
      const err = await failure(waiting);
      expect(err).to.include({ name: 'AbortError', code: 'ABORT_ERR' });
      await a.release();
      expect(await freeSoon(a)).to.equal(true);
      await a.release();
    });

    it('close() rejects pending acquires with ERR_SEMAPHORE_CLOSED, and every later call', async () => {
      const a = open();
      const b = open();
      await a.acquire();
      const waits = [b.acquire(), b.acquire({ timeout: 10_000 })].map((p) => failure(p));
      await sleep(20);
      await b.close();
      expect(b.closed).to.equal(true);
      for (const err of await Promise.all(waits)) {
        expect(err).to.be.instanceOf(SemaphoreError);
        expect(err.code).to.equal('ERR_SEMAPHORE_CLOSED');
      }
      expect((await failure(() => b.acquire())).code).to.equal('ERR_SEMAPHORE_CLOSED');
      expect((await failure(() => b.tryAcquire())).code).to.equal('ERR_SEMAPHORE_CLOSED');
      expect((await failure(() => b.release())).code).to.equal('ERR_SEMAPHORE_CLOSED');
      expect((await failure(() => b.withLock(() => 1))).code).to.equal('ERR_SEMAPHORE_CLOSED');
      await b.close(); // twice: a no-op
      await a.release();
      expect(await freeSoon(a)).to.equal(true); // the closed waiters took nothing
      await a.release();
    });

    it('withLock() returns what fn returns, holding a unit while fn runs', async () => {
      const a = open();
      const b = open();
      const result = await a.withLock(async () => {
        expect(await b.tryAcquire()).to.equal(false);
        return 42;
      });
      expect(result).to.equal(42);
      expect(await b.tryAcquire()).to.equal(true);
      await b.release();
    });

    it("withLock() releases when fn throws, and rejects with fn's error", async () => {
      const a = open();
      const boom = new Error('boom');
      const err = await failure(
        a.withLock(() => {
          throw boom;
        }),
      );
      expect(err).to.equal(boom);
      expect(await a.tryAcquire()).to.equal(true);
      await a.release();
    });

    it('withLock() passes its options to acquire (timeout → ETIMEDOUT, fn not run)', async () => {
      const a = open();
      const b = open();
      await a.acquire();
      let ran = false;
      const err = await failure(b.withLock(() => (ran = true), { timeout: 50 }));
      expect(err.code).to.equal('ETIMEDOUT');
      expect(ran).to.equal(false);
      await a.release();
    });

    it("bad arguments reject with Node's error codes", async () => {
      const a = open();
      expect(await failure(() => a.acquire({ timeout: -1 })))
        .to.be.instanceOf(RangeError)
        .and.include({ code: 'ERR_OUT_OF_RANGE' });
      expect(await failure(() => a.acquire({ timeout: 'soon' })))
        .to.be.instanceOf(TypeError)
        .and.include({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(await failure(() => a.acquire({ signal: {} }))).to.include({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(await failure(() => a.withLock('not a function'))).to.include({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(await a.tryAcquire()).to.equal(true); // none of them took a unit
      await a.release();
    });
  });
}
