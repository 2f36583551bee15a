'use strict';
// A worker thread being terminated at any point (loading the addon, opening,
// waiting, holding, releasing) never aborts the process (DESIGN.md "Signals
// and threads"), and with releaseOnExit no unit is lost. The workers run in
// a child process, so that an abort shows as its exit status.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, leftovers, run, within, cpuLoad } = require('../support/helpers');

const FATAL = /FATAL ERROR|napi_throw|Aborted|core dumped/;

describe('workers terminated at random', function () {
  this.timeout(60_000);
  let load;
  before(() => {
    load = cpuLoad(2);
  });
  after(async () => {
    if (load) await load.stop();
    unlinkAll();
  });

  it('terminate() while workers load the package or run new Semaphore()/close() in a loop (60 workers, each 0..100 ms after it starts): exit 0, no fatal error', async () => {
    const sem = new Semaphore(uniqueName('terminate-loading'), { value: 1 });
    try {
      const result = await within(run('terminate-loading.js', [sem.name, '60', String(Date.now())]), 45_000);
      expect(result.hung, 'the process hung').to.equal(undefined);
      expect(result.stderr, 'stderr').not.to.match(FATAL);
      expect({ code: result.code, signal: result.signal }, result.stderr.slice(0, 2000)).to.deep.equal({ code: 0, signal: null });
      const report = JSON.parse(result.stdout.trim().split('\n').pop());
      expect(report.rounds).to.equal(60);
      expect(sem.value).to.equal(1);
    } finally {
      sem.close();
      Semaphore.unlink(sem.name);
    }
  });

  it('10 s of workers terminated at random while they load, open, wait (wait(), timedWait(), acquire()), hold (releaseOnExit) and release: no abort, never over 2, value back to 2 once the process exits, nothing left in /dev/shm', async () => {
    const sem = new Semaphore(uniqueName('terminate-stress'), { value: 2 });
    try {
      const result = await within(run('terminate-stress.js', [sem.name, '10000', String(Date.now())]), 40_000);
      expect(result.hung, 'the process hung').to.equal(undefined);
      expect(result.stderr, 'stderr').not.to.match(FATAL);
      expect({ code: result.code, signal: result.signal }, result.stderr.slice(0, 2000) + result.stdout.slice(0, 2000)).to.deep.equal({
        code: 0,
        signal: null,
      });
      const report = JSON.parse(result.stdout.trim().split('\n').pop());
      expect(report.workers, 'workers started').to.be.above(20);
      // A terminated worker's units belong to the process (issue 20): back at its exit, not before.
      expect(report.value, `value at the end in the child (${JSON.stringify(report.kinds)})`).to.be.within(0, 2);
      expect(sem.value, 'after the process exited').to.equal(2);
    } finally {
      sem.close();
      Semaphore.unlink(sem.name);
    }
    expect(leftovers()).to.deep.equal([]);
  });
});
