'use strict';
// The waits of a platform without sem_timedwait (macOS): timed waits poll
// sem_trywait with a bounded back-off, and a worker thread's sync wait()
// must still notice terminate(). The addon is built here with
// POSIX_SEMAPHORE_NO_TIMEDWAIT, in a copy of the package, and its timed,
// async and worker waits are run.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, within, buildVariant, removeCopy } = require('./helpers');

describe('waits without sem_timedwait (the macOS path, built on Linux)', function () {
  this.timeout(180_000);
  let copy;

  before(async function () {
    copy = await buildVariant(['POSIX_SEMAPHORE_NO_TIMEDWAIT'], 'no-timedwait');
  });

  after(() => {
    unlinkAll();
    removeCopy(copy);
  });

  it('timedWait() times out and is posted, acquire() times out and is posted, and terminate() of a worker blocked in wait() resolves within 2 s; the process exits', async () => {
    const sem = new Semaphore(uniqueName('no-timedwait'), { value: 0 });
    try {
      const child = run('variant-waits.js', [copy, sem.name]);
      const result = await within(child, 20_000, () => {
        sem.post(); // a worker stuck in sem_wait takes it and lets terminate() end
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      });
      const steps = Object.fromEntries(
        result.stdout
          .split('\n')
          .map((line) => /^(\w+) (\{.*\})$/.exec(line))
          .filter(Boolean)
          .map(([, key, json]) => [key, JSON.parse(json)]),
      );
      expect(steps.timedWaitTimeout, result.stdout).to.deep.include({ result: 'ETIMEDOUT' });
      expect(steps.timedWaitTimeout.ms).to.be.within(140, 1000);
      expect(steps.timedWaitPosted).to.deep.include({ result: 'acquired' });
      expect(steps.timedWaitPosted.ms).to.be.within(100, 2000);
      expect(steps.acquireTimeout).to.deep.include({ result: 'ETIMEDOUT' });
      expect(steps.acquireTimeout.ms).to.be.within(240, 1200);
      expect(steps.acquirePosted).to.deep.include({ result: 'acquired' });
      expect(steps.acquirePosted.ms).to.be.within(300, 2500);
      expect(result.stdout, 'the worker was started and blocked in wait()').to.match(/^terminating$/m);
      expect(result.hung, 'terminate() of the worker blocked in wait() never resolved; the process did not exit').to.equal(undefined);
      expect(steps.workerTerminated.ms, 'terminate() took (ms)').to.be.below(2000);
      expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: 0, signal: null });
      const report = JSON.parse(result.stdout.trim().split('\n').pop());
      expect(report.timedwait, 'the copy was built without sem_timedwait').to.equal(false);
      expect(report.value, 'the worker took nothing').to.equal(0);
      expect(sem.value).to.equal(0); // both posts were taken, by the two waits that reported them
    } finally {
      sem.close();
    }
  });
});
