'use strict';
// Worker threads: the addon is context-aware, workers share semaphores with
// the rest of the process, and a worker that is terminated mid-wait or while
// holding ends cleanly.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, runToEnd } = require('../support/helpers');

describe('worker threads', () => {
  afterEach(unlinkAll);

  it('four workers × 100 withLock increments lose no update', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    try {
      const { code, stdout, stderr } = await runToEnd('worker-host.js', [sem.name, 'counter']);
      expect(code, stderr).to.equal(0);
      expect(stdout).to.match(/^count 400$/m);
      expect(sem.value).to.equal(1);
    } finally {
      sem.close();
    }
  });

  it('a worker terminated while its acquire() waits ends promptly; no crash, no unit lost', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    try {
      const { code, stdout, stderr } = await runToEnd('worker-host.js', [sem.name, 'terminate-waiting']);
      expect(code, stderr).to.equal(0);
      const ms = Number(/terminated in (\d+) ms/.exec(stdout)[1]);
      expect(ms).to.be.below(1000); // at most one wait slice
      expect(stdout).to.match(/^value 1$/m);
    } finally {
      sem.close();
    }
  });

  for (const call of ['wait()', 'timedWait(60 s)']) {
    it(`a worker blocked in a sync ${call} is terminated promptly; it takes no unit`, async () => {
      const sem = new Semaphore(uniqueName(), { value: 1 });
      try {
        const scenario = call === 'wait()' ? 'terminate-sync-wait' : 'terminate-sync-timedwait';
        const { code, stdout, stderr } = await runToEnd('worker-host.js', [sem.name, scenario]);
        expect(code, stderr).to.equal(0);
        const ms = Number(/terminated in (\d+) ms/.exec(stdout)[1]);
        expect(ms, 'terminate() took (ms)').to.be.below(1000); // a sync wait slice is 50 ms
        expect(stdout).to.match(/^value 1$/m);
      } finally {
        sem.close();
      }
    });
  }

  it('process.exit() with a worker blocked in a sync wait() exits with its code instead of hanging', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    const host = run('worker-host.js', [sem.name, 'exit-sync-wait']);
    let timer;
    try {
      await host.line(/^exiting$/);
      const start = Date.now();
      const hung = new Promise((resolve) => {
        timer = setTimeout(resolve, 5000, 'hung');
      });
      const result = await Promise.race([host.done, hung]);
      expect(result, 'the host process did not exit').to.not.equal('hung');
      expect(result.code, result.stderr).to.equal(3);
      expect(Date.now() - start).to.be.below(2000);
      expect(sem.value, 'the host exited holding its unit; the worker took none').to.equal(0);
    } finally {
      clearTimeout(timer);
      if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
      sem.close();
    }
  });

  it('a worker terminated while holding a unit with releaseOnExit leaves it to the process, which gives it back at exit', async () => {
    // Units belong to the process (another thread may have been handed them): a thread's end posts nothing.
    const sem = new Semaphore(uniqueName(), { value: 1 });
    try {
      const { code, stdout, stderr } = await runToEnd('worker-host.js', [sem.name, 'terminate-holding-release']);
      expect(code, stderr).to.equal(0);
      expect(stdout).to.match(/^while held 0$/m);
      expect(stdout, 'after terminate(), while the process lives').to.match(/^value 0$/m);
      expect(sem.value, 'after the process exited').to.equal(1);
    } finally {
      sem.close();
    }
  });

  it('without releaseOnExit the terminated worker keeps the unit taken, like a process would', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    try {
      const { code, stdout, stderr } = await runToEnd('worker-host.js', [sem.name, 'terminate-holding']);
      expect(code, stderr).to.equal(0);
      expect(stdout).to.match(/^value 0$/m);
    } finally {
      sem.close();
    }
  });
});
