'use strict';
// Robust waiters (robust: true, issue 12), with real processes: a process
// waiting on a robust handle gets the unit of a holder SIGKILLed inside its
// critical section within a slice of the death; a plain waiter does not
// recover by itself; sliced robust waits keep the timeouts of plain ones.
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, failure } = require('../support/helpers');
const { unitsOf, holder, valueSeenByNewProcess, msUntilLine, killed, trackChildren } = require('../support/robust');

const { native } = require('../../dist/binding');

describe('robust ownership (robust: true)', function () {
  this.timeout(30000);
  const track = trackChildren();

  describe('a holder SIGKILLed inside its critical section', () => {
    for (const [waiter, call] of [
      ['wait-async', 'await acquire()'],
      ['wait-sync', 'sync wait()'],
      ['timedwait', 'timedWait(10 s)'],
    ]) {
      for (const hold of ['hold-sync', 'hold-async']) {
        it(`a process waiting in ${call} on another robust handle gets the unit within a slice of the death (holder took it with ${hold === 'hold-sync' ? 'wait()' : 'acquire()'})`, async () => {
          const sem = new Semaphore(uniqueName('dies-holding'), { value: 1 });
          try {
            const owner = track(holder(sem.name, hold));
            await owner.line(/^holding$/);
            const waiting = track(holder(sem.name, waiter));
            await waiting.line(/^waiting$/);
            await sleep(300); // past the first slices: blocked in the wait proper
            expect(sem.value).to.equal(0);
            expect(unitsOf(sem.name, owner.pid)).to.equal(1);

            const start = performance.now();
            owner.kill('SIGKILL');
            await msUntilLine(waiting, /^acquired$/, 5000);
            const ms = performance.now() - start;
            console.log(`        SIGKILL → ${call} holding the unit: ${ms.toFixed(0)} ms`);
            expect(ms, 'ms from the kill to the waiter holding the unit').to.be.below(1000);
            const { code, stderr } = await waiting.done;
            expect(code, stderr).to.equal(0);
            expect(sem.value).to.equal(1); // recovered once, then posted back by the waiter
            expect(unitsOf(sem.name, owner.pid)).to.equal(0);
          } finally {
            sem.close();
          }
        });
      }
    }

    it('a plain (non-robust) waiter does not recover: it stays blocked until a robust handle opens', async () => {
      const sem = new Semaphore(uniqueName('plain-waiter'), { value: 1 });
      try {
        const owner = track(holder(sem.name, 'hold-sync'));
        await owner.line(/^holding$/);
        const waiting = track(holder(sem.name, 'wait-async', { robust: false }));
        await waiting.line(/^waiting$/);
        await killed(owner);
        await sleep(400);
        expect(waiting.exitCode).to.equal(null);
        expect(sem.value).to.equal(0);

        await valueSeenByNewProcess(sem.name); // a robust open recovers: the plain waiter takes the unit
        await msUntilLine(waiting, /^acquired$/, 5000);
        expect((await waiting.done).code).to.equal(0);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('sliced robust waits keep their contract', () => {
    it('a robust timedWait(300) on a taken semaphore throws ETIMEDOUT after 300 ms, not a slice later', async () => {
      const sem = new Semaphore(uniqueName('timed'), { value: 0, robust: true });
      try {
        const start = performance.now();
        const err = await failure(() => sem.timedWait(300));
        const ms = performance.now() - start;
        expect(err).to.include({ code: 'ETIMEDOUT' });
        expect(ms).to.be.at.least(295);
        expect(ms).to.be.below(600);
        expect(sem.value).to.equal(0);
      } finally {
        sem.close();
      }
    });

    it('a robust acquire({ timeout: 250 }) rejects ETIMEDOUT and holds nothing; a post then wakes a robust wait() at once', async () => {
      const sem = new Semaphore(uniqueName('timed-async'), { value: 0, robust: true });
      try {
        const err = await failure(sem.acquire({ timeout: 250 }));
        expect(err).to.include({ code: 'ETIMEDOUT' });
        expect(native.holders(sem['handle'])).to.deep.equal([]);
        const waiting = track(holder(sem.name, 'wait-sync'));
        await waiting.line(/^waiting$/);
        await sleep(200);
        sem.post();
        const ms = await msUntilLine(waiting, /^acquired$/, 5000);
        expect(ms, 'ms from the post to the robust waiter holding').to.be.below(500);
        expect((await waiting.done).code).to.equal(0);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });
});
