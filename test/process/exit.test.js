'use strict';
// The failures measured in the original package must not happen here.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, run, runToEnd } = require('../support/helpers');

describe('exit behaviour (what the original got wrong)', () => {
  afterEach(unlinkAll);

  it('a second process that opens with default options and exits does not unlink, nor let a third in', async () => {
    const first = new Semaphore(uniqueName(), { value: 1 });
    first.wait(); // the first process holds it
    try {
      const second = await runToEnd('opener.js', [first.name, 'open-and-exit']);
      expect(second.code, second.stderr).to.equal(0);
      expect(exists(first.name)).to.equal(true);
      const third = await runToEnd('opener.js', [first.name, 'trywait']);
      expect(third.stdout.trim()).to.equal('EAGAIN');
      expect(first.value).to.equal(0);
      first.post();
      const fourth = await runToEnd('opener.js', [first.name, 'trywait']);
      expect(fourth.stdout.trim()).to.equal('acquired');
    } finally {
      first.close();
    }
  });

  it('close() never unlinks; only unlink() does', () => {
    const name = uniqueName();
    const sem = new Semaphore(name);
    sem.close();
    expect(exists(name)).to.equal(true);
    Semaphore.unlink(name);
    expect(exists(name)).to.equal(false);
  });

  it('SIGINT to a process blocked in wait() with no listener of its own ends it by SIGINT', async () => {
    const sem = new Semaphore(uniqueName(), { value: 0 });
    try {
      const child = run('opener.js', [sem.name, 'wait']);
      await child.line(/^blocking$/);
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      const { code, signal, stdout } = await child.done;
      expect({ code, signal }).to.deep.equal({ code: null, signal: 'SIGINT' });
      expect(stdout).not.to.include('acquired');
      expect(sem.value).to.equal(0);
    } finally {
      sem.close();
    }
  });

  it('twenty handles add no listener at all and no MaxListenersExceeded warning', async () => {
    const sem = new Semaphore(uniqueName());
    try {
      const { stdout, stderr } = await runToEnd('listeners.js', [sem.name, '20']);
      const { added, warnings } = JSON.parse(stdout);
      expect(added.SIGINT + added.SIGTERM + added.uncaughtException + added.exit).to.equal(0);
      expect(warnings).to.deep.equal([]);
      expect(stderr).not.to.match(/MaxListeners/);
    } finally {
      sem.close();
    }
  });

  it('an uncaught exception keeps exit code 1, its stack on stderr, and nothing else printed', async () => {
    const sem = new Semaphore(uniqueName());
    try {
      const { code, signal, stdout, stderr } = await runToEnd('opener.js', [sem.name, 'uncaught']);
      expect({ code, signal }).to.deep.equal({ code: 1, signal: null });
      expect(stderr).to.include('Error: uncaught on purpose');
      expect(stderr).not.to.include('posix-semaphore]');
      expect(stdout).to.equal('');
      expect(exists(sem.name)).to.equal(true);
    } finally {
      sem.close();
    }
  });
});

describe('cross-process mutual exclusion (sync)', () => {
  afterEach(unlinkAll);

  it('4 processes × 500 wait()/post() increments of a shared file lose no update', async () => {
    const sem = new Semaphore(uniqueName(), { value: 1 });
    const file = path.join(os.tmpdir(), `psem-sync-counter-${process.pid}`);
    fs.writeFileSync(file, '0');
    try {
      const results = await Promise.all([0, 1, 2, 3].map(() => runToEnd('counter.js', [sem.name, file, '500', 'sync'])));
      for (const r of results) expect(r.code, r.stderr).to.equal(0);
      expect(Number(fs.readFileSync(file, 'utf8'))).to.equal(2000);
      expect(sem.value).to.equal(1); // where it started
    } finally {
      sem.close();
      fs.rmSync(file, { force: true });
    }
  });
});
