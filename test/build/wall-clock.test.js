'use strict';
// The timed waits of a glibc without sem_clockwait (before 2.30, as on
// RHEL 8, where the prebuild loads too): sem_timedwait on the wall clock.
// The addon is built here with POSIX_SEMAPHORE_NO_CLOCKWAIT, in a copy of
// the package, and its timed, async and sliced waits are run.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, runToEnd, buildVariant, removeCopy } = require('../support/helpers');

describe('timed waits without sem_clockwait (wall clock, glibc < 2.30)', function () {
  this.timeout(180_000);
  let copy;

  before(async function () {
    copy = await buildVariant(['POSIX_SEMAPHORE_NO_CLOCKWAIT'], 'wall-clock');
  });

  after(() => {
    unlinkAll();
    removeCopy(copy);
  });

  it('timedWait, acquire with and without a timeout, and a worker terminated in wait() all behave as with sem_clockwait', async () => {
    const sem = new Semaphore(uniqueName('wall-clock'), { value: 0 });
    try {
      expect(require('../../dist/binding').native.constants.MONOTONIC_WAITS, 'this build').to.equal(true);
      const { code, stdout, stderr } = await runToEnd('variant-waits.js', [copy, sem.name]);
      expect(code, stderr).to.equal(0);
      const r = JSON.parse(stdout);
      expect(r.monotonic, 'the copy measures on the wall clock').to.equal(false);
      expect(r.timedWaitTimeout.result).to.equal('ETIMEDOUT');
      expect(r.timedWaitTimeout.ms).to.be.within(140, 1000);
      expect(r.timedWaitPosted.result).to.equal('acquired');
      expect(r.timedWaitPosted.ms).to.be.within(100, 2000);
      expect(r.acquireTimeout.result).to.equal('ETIMEDOUT');
      expect(r.acquireTimeout.ms).to.be.within(240, 1200);
      expect(r.acquirePosted.result).to.equal('acquired');
      expect(r.acquirePosted.ms).to.be.within(300, 2500);
      expect(r.workerTerminated.ms).to.be.below(1000);
      expect(r.value, 'the worker took nothing').to.equal(0);
      expect(sem.value).to.equal(0); // both posts were taken, by the two waits that reported them
    } finally {
      sem.close();
    }
  });
});
