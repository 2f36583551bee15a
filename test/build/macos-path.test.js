'use strict';
// macOS, as far as Linux can test it. macOS has no sem_timedwait and no
// sem_getvalue: timed and async waits poll sem_trywait with a bounded
// back-off, and `value` throws ENOSYS. The addon is built here with
// POSIX_SEMAPHORE_NO_TIMEDWAIT and POSIX_SEMAPHORE_NO_GETVALUE, in a copy of
// the package, and its waits are run. What this cannot show: macOS's own
// sem_open, its kernel's name rules and its scheduler (see docs/platforms.md).
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const { promisify } = require('node:util');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, runToEnd, within, buildVariant, removeCopy } = require('../support/helpers');

describe('the macOS paths (no sem_timedwait, no sem_getvalue), built on Linux', function () {
  this.timeout(180_000);
  let copy;

  before(async function () {
    copy = await buildVariant(['POSIX_SEMAPHORE_NO_TIMEDWAIT', 'POSIX_SEMAPHORE_NO_GETVALUE'], 'macos-path');
  });

  after(() => {
    unlinkAll();
    removeCopy(copy);
  });

  it('has neither call: value throws ENOSYS, the constants say so, and the waits still work on the semaphore', async () => {
    const name = uniqueName('macos-value');
    const script = `
      const S = require(process.argv[1]);
      const { native } = require(require('path').join(process.argv[1], 'dist', 'binding'));
      const s = new S(process.argv[2], { value: 3 });
      let code; try { s.value; } catch (err) { code = err.code; }
      s.tryWait();
      console.log(JSON.stringify({ constants: native.constants, code }));
      s.close();`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, copy, name]);
    const r = JSON.parse(stdout);
    expect(r.constants).to.include({ TIMED_WAIT: 'sem_trywait', MONOTONIC_WAITS: true });
    expect(r.code).to.equal('ENOSYS');
    const sem = new Semaphore(name, { create: false });
    try {
      expect(sem.value, 'tryWait() took one of 3').to.equal(2);
    } finally {
      sem.close();
    }
  });

  it('timedWait and acquire() poll: they time out on time, and take a unit another process posts', async () => {
    const sem = new Semaphore(uniqueName('macos-waits'), { value: 0 });
    try {
      const { code, stdout, stderr } = await runToEnd('variant-waits.js', [copy, sem.name, 'timed', 'async']);
      expect(code, stderr).to.equal(0);
      const r = JSON.parse(stdout);
      expect(r.monotonic, 'the polling measures on CLOCK_MONOTONIC').to.equal(true);
      expect(r.value, 'no sem_getvalue in this build').to.equal(undefined);
      expect(r.timedWaitTimeout.result).to.equal('ETIMEDOUT');
      expect(r.timedWaitTimeout.ms).to.be.within(140, 1000);
      expect(r.timedWaitPosted.result).to.equal('acquired');
      expect(r.timedWaitPosted.ms).to.be.within(100, 2000);
      expect(r.acquireTimeout.result).to.equal('ETIMEDOUT');
      expect(r.acquireTimeout.ms).to.be.within(240, 1200);
      expect(r.acquirePosted.result).to.equal('acquired');
      expect(r.acquirePosted.ms).to.be.within(300, 2500);
      expect(sem.value).to.equal(0); // both posts were taken, by the two waits that reported them
    } finally {
      sem.close();
    }
  });

  // Issue 10 item 6: without sem_timedwait a worker's sync wait polls in
  // slices too; before, it was one sem_wait that terminate() could not end.
  it('a worker terminated while blocked in wait() ends promptly, taking nothing', async () => {
    const sem = new Semaphore(uniqueName('macos-worker'), { value: 0 });
    try {
      const child = run('variant-waits.js', [copy, sem.name, 'worker']);
      const result = await within(child, 20_000, () => {
        sem.post(); // a worker stuck in sem_wait takes it and lets terminate() end
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      });
      expect(result.hung, 'terminate() of the worker blocked in wait() never resolved').to.equal(undefined);
      expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: 0, signal: null });
      expect(JSON.parse(result.stdout).workerTerminated.ms).to.be.below(2000);
      expect(sem.value, 'the worker took nothing').to.equal(0);
    } finally {
      sem.close();
    }
  });
});

describe('names on macOS', () => {
  const platform = Object.getOwnPropertyDescriptor(process, 'platform');
  const asDarwin = (fn) => {
    Object.defineProperty(process, 'platform', { ...platform, value: 'darwin' });
    try {
      return fn();
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
  };

  it('a name over 29 bytes after the "/" (31 with "/" and NUL) is refused before any syscall, saying why', () => {
    const long = `/${'n'.repeat(30)}`;
    for (const attempt of [() => new Semaphore(long), () => Semaphore.unlink(long)]) {
      let err;
      asDarwin(() => {
        try {
          attempt();
        } catch (e) {
          err = e;
        }
      });
      expect(err).to.be.instanceOf(TypeError);
      expect(err.code).to.equal('ERR_INVALID_ARG_VALUE');
      expect(err.message).to.include('at most 29 bytes').and.include('macOS');
    }
    expect(fs.existsSync(`/dev/shm/sem.${long.slice(1)}`)).to.equal(false);
  });

  it('a name of 29 bytes is accepted, and Linux keeps its own limit', () => {
    const name = `/${`psem-test-${process.pid}-mac-`.padEnd(29, 'x')}`;
    try {
      const sem = asDarwin(() => new Semaphore(name));
      sem.close();
    } finally {
      Semaphore.unlink(name);
    }
    const long = new Semaphore(uniqueName('x'.repeat(40)));
    long.close();
  });
});
