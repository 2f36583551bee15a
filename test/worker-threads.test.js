'use strict';
// Worker threads: the addon is context-aware, workers share semaphores with
// the rest of the process, and a worker that is terminated mid-wait or while
// holding ends cleanly.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, runToEnd } = require('./helpers');

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

  it('a worker terminated while holding a unit with releaseOnExit gives it back', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    try {
      const { code, stdout, stderr } = await runToEnd('worker-host.js', [sem.name, 'terminate-holding-release']);
      expect(code, stderr).to.equal(0);
      expect(stdout).to.match(/^while held 0$/m);
      expect(stdout).to.match(/^value 1$/m);
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
