'use strict';
// The pure-JS queue behind acquire() (src/async/wait-queue.ts): FIFO across
// owners, timeouts, abort signals, failing some or all waiters, and onIdle.
// No semaphores, no processes, no real time: timers are @sinonjs/fake-timers'.
const { getEventListeners } = require('node:events');
const FakeTimers = require('@sinonjs/fake-timers');
const { expect } = require('chai');
const { AbortError } = require('../..');
const { WaitQueue } = require('../../dist/async/wait-queue');

/** Runs every microtask queued so far (promise callbacks); no timer of the fake clock moves. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Follows a promise: { state: 'pending' | 'resolved' | 'rejected', value, error }, read after flush(). */
function follow(promise) {
  const seen = { state: 'pending', value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(seen, { state: 'resolved', value }),
    (error) => Object.assign(seen, { state: 'rejected', error }),
  );
  return seen;
}

/** A timeoutError() for wait() that counts its calls. */
function timeoutErrors() {
  const make = () => {
    make.calls++;
    return new Error('timeout');
  };
  make.calls = 0;
  return make;
}

describe('WaitQueue (the JS queue of waiting acquires)', () => {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.uninstall());

  describe('FIFO', () => {
    it('grants in the order of wait(), whatever the owner; oldestOwner() names who is next', async () => {
      const queue = new WaitQueue();
      const order = [];
      const owners = ['a', 'b', 'a', 'c'];
      owners.forEach((owner, i) => queue.wait(undefined, undefined, timeoutErrors(), owner).then(() => order.push(i)));
      for (let i = 0; i < owners.length; i++) {
        expect(queue.oldestOwner()).to.equal(owners[i]);
        expect(queue.grant(undefined)).to.equal(true);
      }
      await flush();
      expect(order).to.deep.equal([0, 1, 2, 3]);
      expect(queue.oldestOwner()).to.equal(undefined);
      expect(queue.grant(undefined)).to.equal(false);
    });

    it('grant(value) resolves the waiter with that value', async () => {
      const queue = new WaitQueue();
      const waiter = follow(queue.wait(undefined, undefined, timeoutErrors()));
      queue.grant('lease-1');
      await flush();
      expect(waiter).to.include({ state: 'resolved', value: 'lease-1' });
    });

    it('failOldest(error) rejects the oldest waiter only; false when nobody waits', async () => {
      const queue = new WaitQueue();
      const first = follow(queue.wait(undefined, undefined, timeoutErrors(), 'a'));
      const second = follow(queue.wait(undefined, undefined, timeoutErrors(), 'b'));
      const error = new Error('redis down');
      expect(queue.failOldest(error)).to.equal(true);
      await flush();
      expect(first).to.include({ state: 'rejected', error });
      expect(second.state).to.equal('pending');
      expect(queue.oldestOwner()).to.equal('b');
      queue.grant();
      expect(queue.failOldest(new Error('nobody'))).to.equal(false);
    });

    it('3,000 waiters are served in order while the served ones are dropped from the front', async () => {
      const queue = new WaitQueue();
      const order = [];
      for (let i = 0; i < 3000; i++) queue.wait(undefined, undefined, timeoutErrors(), i).then(() => order.push(i));
      for (let i = 0; i < 3000; i++) {
        expect(queue.oldestOwner()).to.equal(i);
        queue.grant();
      }
      await flush();
      expect(order).to.deep.equal(Array.from({ length: 3000 }, (_, i) => i));
      expect(queue.pending).to.equal(0);
    });
  });

  describe('timeouts', () => {
    it('a waiter rejects with its timeoutError() after exactly `timeout` ms, not a millisecond before; the others keep waiting', async () => {
      const queue = new WaitQueue();
      const timedOut = timeoutErrors();
      const timed = follow(queue.wait(100, undefined, timedOut, 'timed'));
      const patient = follow(queue.wait(undefined, undefined, timeoutErrors(), 'patient'));
      clock.tick(99);
      await flush();
      expect([timed.state, patient.state, queue.pending]).to.deep.equal(['pending', 'pending', 2]);
      clock.tick(1);
      await flush();
      expect(timed.state).to.equal('rejected');
      expect(timed.error.message).to.equal('timeout');
      expect(timedOut.calls).to.equal(1);
      expect([patient.state, queue.pending, queue.oldestOwner()]).to.deep.equal(['pending', 1, 'patient']);
    });

    it('undefined and Infinity never time out (no timer at all); 0 times out at the next timer turn, not synchronously', async () => {
      const queue = new WaitQueue();
      const forever = [follow(queue.wait(undefined, undefined, timeoutErrors())), follow(queue.wait(Infinity, undefined, timeoutErrors()))];
      expect(clock.countTimers()).to.equal(0);
      const zero = follow(queue.wait(0, undefined, timeoutErrors()));
      await flush();
      expect(zero.state).to.equal('pending');
      clock.tick(1);
      await flush();
      expect(zero.state).to.equal('rejected');
      clock.tick(365 * 24 * 3600 * 1000);
      await flush();
      expect(forever.map((w) => w.state)).to.deep.equal(['pending', 'pending']);
    });

    it('a waiter settled before its timeout (granted, failed, aborted) leaves no timer and never calls timeoutError()', async () => {
      const queue = new WaitQueue();
      const timedOut = timeoutErrors();
      const controller = new AbortController();
      const granted = follow(queue.wait(50, undefined, timedOut));
      const failed = follow(queue.wait(50, undefined, timedOut));
      const aborted = follow(queue.wait(50, controller.signal, timedOut));
      expect(clock.countTimers()).to.equal(3);
      queue.grant();
      queue.failOldest(new Error('failed'));
      controller.abort();
      expect(clock.countTimers()).to.equal(0);
      clock.tick(1000);
      await flush();
      expect([granted.state, failed.state, aborted.state]).to.deep.equal(['resolved', 'rejected', 'rejected']);
      expect(timedOut.calls).to.equal(0);
    });

    it('a waiter that timed out is skipped by oldestOwner() and grant(): the next in line gets the unit', async () => {
      const queue = new WaitQueue();
      queue.wait(10, undefined, timeoutErrors(), 'late').catch(() => {});
      const next = follow(queue.wait(undefined, undefined, timeoutErrors(), 'next'));
      clock.tick(10);
      expect(queue.oldestOwner()).to.equal('next');
      expect(queue.grant()).to.equal(true);
      await flush();
      expect(next.state).to.equal('resolved');
      expect(queue.grant()).to.equal(false);
    });

    it('many waiters that gave up are swept from the queue without losing or reordering the live ones', async () => {
      const queue = new WaitQueue();
      const order = [];
      for (let i = 0; i < 400; i++) {
        if (i % 4 === 0) queue.wait(undefined, undefined, timeoutErrors(), i).then(() => order.push(i));
        else queue.wait(10 + (i % 7), undefined, timeoutErrors(), i).catch(() => {});
      }
      clock.tick(20);
      expect(queue.pending).to.equal(100);
      while (queue.grant());
      await flush();
      expect(order).to.deep.equal(Array.from({ length: 100 }, (_, i) => 4 * i));
    });
  });

  describe('abort signals', () => {
    it("abort() rejects that waiter at once with an AbortError (code ABORT_ERR, cause: the signal's reason); the others keep waiting", async () => {
      const queue = new WaitQueue();
      const controller = new AbortController();
      const aborted = follow(queue.wait(undefined, controller.signal, timeoutErrors(), 'a'));
      const other = follow(queue.wait(undefined, undefined, timeoutErrors(), 'b'));
      const reason = new Error('the user went away');
      controller.abort(reason);
      expect(queue.pending).to.equal(1);
      await flush();
      expect(aborted.state).to.equal('rejected');
      expect(aborted.error).to.be.an.instanceOf(AbortError);
      expect(aborted.error).to.include({ name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted', cause: reason });
      expect(other.state).to.equal('pending');
      expect(queue.oldestOwner()).to.equal('b');
    });

    it('one signal aborts every waiter it was given to', async () => {
      const queue = new WaitQueue();
      const controller = new AbortController();
      const waiters = [1, 2, 3].map(() => follow(queue.wait(undefined, controller.signal, timeoutErrors())));
      controller.abort();
      await flush();
      expect(waiters.map((w) => w.state)).to.deep.equal(['rejected', 'rejected', 'rejected']);
      expect(queue.pending).to.equal(0);
      expect(queue.grant()).to.equal(false);
    });

    for (const [how, settle] of [
      ['granted', (queue) => queue.grant()],
      ['timed out', () => clock.tick(5)],
      ['failed by failAll()', (queue) => queue.failAll(() => new Error('closed'))],
    ]) {
      it(`the abort listener is removed once the waiter is ${how}; a later abort changes nothing`, async () => {
        const queue = new WaitQueue();
        const controller = new AbortController();
        const waiter = follow(queue.wait(5, controller.signal, timeoutErrors()));
        expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
        settle(queue);
        expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
        await flush();
        const settled = { ...waiter };
        controller.abort();
        await flush();
        expect(waiter).to.deep.equal(settled);
      });
    }
  });

  describe('owners', () => {
    it("failOwnedBy() rejects one owner's waiters, each with its own error; the others keep their place", async () => {
      const queue = new WaitQueue();
      const a1 = follow(queue.wait(undefined, undefined, timeoutErrors(), 'a'));
      const b1 = follow(queue.wait(undefined, undefined, timeoutErrors(), 'b'));
      const a2 = follow(queue.wait(undefined, undefined, timeoutErrors(), 'a'));
      const c1 = follow(queue.wait(undefined, undefined, timeoutErrors(), 'c'));
      queue.failOwnedBy('a', () => new Error('closed'));
      await flush();
      expect([a1.state, a2.state]).to.deep.equal(['rejected', 'rejected']);
      expect(a1.error).to.not.equal(a2.error);
      expect([b1.state, c1.state, queue.pending]).to.deep.equal(['pending', 'pending', 2]);
      expect(queue.oldestOwner()).to.equal('b');
      queue.grant();
      expect(queue.oldestOwner()).to.equal('c');
    });

    it("pendingOf(owner) counts the owner's waiters that have not settled", async () => {
      const queue = new WaitQueue();
      queue.wait(undefined, undefined, timeoutErrors(), 'a');
      queue.wait(10, undefined, timeoutErrors(), 'a').catch(() => {});
      queue.wait(undefined, undefined, timeoutErrors(), 'b');
      expect([queue.pendingOf('a'), queue.pendingOf('b'), queue.pendingOf('c')]).to.deep.equal([2, 1, 0]);
      clock.tick(10);
      expect(queue.pendingOf('a')).to.equal(1);
      queue.grant();
      expect([queue.pendingOf('a'), queue.pendingOf('b')]).to.deep.equal([0, 1]);
    });

    it('failAll() rejects every waiter, each with its own error(), and leaves nobody waiting', async () => {
      const queue = new WaitQueue();
      const waiters = ['a', 'b', 'a'].map((owner) => follow(queue.wait(100, undefined, timeoutErrors(), owner)));
      let made = 0;
      queue.failAll(() => new Error(`closed ${++made}`));
      await flush();
      expect(waiters.map((w) => w.error && w.error.message)).to.deep.equal(['closed 1', 'closed 2', 'closed 3']);
      expect([queue.pending, queue.oldestOwner(), clock.countTimers()]).to.deep.equal([0, undefined, 0]);
    });
  });

  describe('onIdle', () => {
    for (const [how, settleLast] of [
      ['granted', (queue) => queue.grant()],
      ['timed out', () => clock.tick(100)],
      ['aborted', (queue, controller) => controller.abort()],
      ['failed by failOldest()', (queue) => queue.failOldest(new Error('x'))],
      ['failed by failOwnedBy()', (queue) => queue.failOwnedBy('last', () => new Error('x'))],
    ]) {
      it(`runs once, at once, when the last waiting waiter is ${how}; not while another waits`, () => {
        let idle = 0;
        const queue = new WaitQueue(() => idle++);
        const controller = new AbortController();
        queue.wait(undefined, undefined, timeoutErrors(), 'first').catch(() => {});
        queue.wait(100, controller.signal, timeoutErrors(), 'last').catch(() => {});
        queue.failOwnedBy('first', () => new Error('x'));
        expect(idle, 'with one still waiting').to.equal(0);
        settleLast(queue, controller);
        expect(idle).to.equal(1);
        expect(queue.pending).to.equal(0);
      });
    }

    it('runs again for each later round of waiters, and not for a grant() with nobody waiting', () => {
      let idle = 0;
      const queue = new WaitQueue(() => idle++);
      queue.grant();
      queue.failOldest(new Error('nobody'));
      expect(idle).to.equal(0);
      for (let round = 1; round <= 3; round++) {
        queue.wait(undefined, undefined, timeoutErrors());
        queue.wait(undefined, undefined, timeoutErrors());
        queue.grant();
        queue.grant();
        expect(idle).to.equal(round);
      }
    });
  });
});
