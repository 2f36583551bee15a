'use strict';
// Faults, with real processes: holders and waiters SIGKILLed, SIGINT and
// SIGTERM with and without releaseOnExit, the program's own exit listeners
// and uncaught exceptions, and signals it does not listen to (SIGCHLD). Each
// ends in a documented state, with no crash and nothing leaked.
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, runToEnd, runCode, within, lineWithin } = require('../support/helpers');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

describe('faults', function () {
  this.timeout(30000);
  afterEach(unlinkAll);

  describe('SIGKILL', () => {
    it('killed holders lose exactly the units they held, killed waiters none; `posix-semaphore post --count` repairs', async () => {
      const sem = new Semaphore(uniqueName('kill'), { value: 2 });
      try {
        // Two holders (sync and async, even with releaseOnExit: SIGKILL cannot be caught) ...
        const holders = [run('fault-holder.js', [sem.name, 'hold-sync', '{"releaseOnExit":true}']), run('fault-holder.js', [sem.name, 'hold-async'])];
        await Promise.all(holders.map((c) => c.line(/^holding$/)));
        expect(sem.value).to.equal(0);
        // ... and two waiters behind them.
        const waiters = [run('fault-holder.js', [sem.name, 'wait-sync']), run('fault-holder.js', [sem.name, 'wait-async', '{"releaseOnExit":true}'])];
        await Promise.all(waiters.map((c) => c.line(/^waiting$/)));
        await sleep(50);
        for (const child of [...holders, ...waiters]) child.kill('SIGKILL');
        for (const { signal } of await Promise.all([...holders, ...waiters].map((c) => c.done))) expect(signal).to.equal('SIGKILL');
        expect(sem.value).to.equal(0); // two units lost, none taken by the killed waiters

        const repair = await runToEnd(CLI, ['post', sem.name, '--count', '2']);
        expect(repair.code, repair.stderr).to.equal(0);
        expect(sem.value).to.equal(2);
      } finally {
        sem.close();
      }
    });

    it('a process waiting behind a SIGKILLed holder stays blocked until the repair, then gets the unit', async () => {
      const sem = new Semaphore(uniqueName('kill-waiter'), { value: 1 });
      try {
        const holder = run('fault-holder.js', [sem.name, 'hold-async', '{"releaseOnExit":true}']);
        await holder.line(/^holding$/);
        const waiter = run('fault-holder.js', [sem.name, 'wait-async']);
        await waiter.line(/^waiting$/);
        holder.kill('SIGKILL');
        await holder.done;
        expect(await lineWithin(waiter, /^acquired$/, 400)).to.equal(undefined);

        expect((await runToEnd(CLI, ['post', sem.name])).code).to.equal(0);
        const { code, stdout, stderr } = await within(waiter, 5000);
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^acquired$/m);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('SIGINT and SIGTERM', () => {
    for (const signal of ['SIGTERM', 'SIGINT']) {
      it(`${signal} without releaseOnExit to a process blocked in a sync wait(): default action, its held unit stays taken`, async () => {
        const first = new Semaphore(uniqueName('held'), { value: 1 });
        const second = new Semaphore(uniqueName('blocked'), { value: 0 });
        try {
          const child = run('fault-holder.js', [first.name, 'hold-then-wait-sync', JSON.stringify({ second: second.name })]);
          await child.line(/^waiting$/);
          await sleep(50);
          child.kill(signal);
          const result = await within(child, 5000);
          expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: null, signal });
          expect(first.value).to.equal(0);
          expect(second.value).to.equal(0);
        } finally {
          first.close();
          second.close();
        }
      });

      it(`${signal} with releaseOnExit to a process waiting in acquire(): held unit back, the pending acquire takes nothing, dies by ${signal}`, async () => {
        const first = new Semaphore(uniqueName('held'), { value: 1 });
        const second = new Semaphore(uniqueName('pending'), { value: 0 });
        try {
          const child = run('fault-holder.js', [first.name, 'hold-then-wait-async', JSON.stringify({ second: second.name, releaseOnExit: true })]);
          await child.line(/^waiting$/);
          await sleep(50);
          child.kill(signal);
          const result = await within(child, 5000);
          expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: null, signal });
          expect(first.value).to.equal(1);
          expect(second.value).to.equal(0);
          second.post(); // a wait slice of the dead process cannot have survived it to take this
          expect(second.value).to.equal(1);
        } finally {
          first.close();
          second.close();
        }
      });

      // Before c2eb745: the package's own signal listener made the wait throw EINTR, uncaught: exit 1.
      it(`${signal} with releaseOnExit to a process blocked in a sync wait(): held unit back, dies by ${signal}`, async () => {
        const first = new Semaphore(uniqueName('held'), { value: 1 });
        const second = new Semaphore(uniqueName('blocked'), { value: 0 });
        try {
          const child = run('fault-holder.js', [first.name, 'hold-then-wait-sync', JSON.stringify({ second: second.name, releaseOnExit: true })]);
          await child.line(/^waiting$/);
          await sleep(50);
          child.kill(signal);
          const result = await within(child, 5000);
          expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: null, signal });
          expect(first.value).to.equal(1);
          expect(second.value).to.equal(0);
        } finally {
          first.close();
          second.close();
        }
      });
    }
  });

  describe('exit listeners and uncaught exceptions', () => {
    it("a program's own 'exit' listener registered before the handle opens can give its unit back", async () => {
      const sem = new Semaphore(uniqueName('exit-before'), { value: 1 });
      try {
        const { code, stdout, stderr } = await runToEnd('fault-exit-listener.js', [sem.name, 'before']);
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^posted in my exit listener$/m);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    // Before c2eb745: closeOnExit closed the handle in an 'exit' listener that ran first; the post threw ERR_SEMAPHORE_CLOSED.
    it("a program's own 'exit' listener registered after the handle opens can give its unit back", async () => {
      const sem = new Semaphore(uniqueName('exit-after'), { value: 1 });
      try {
        const { code, stdout, stderr } = await runToEnd('fault-exit-listener.js', [sem.name, 'after']);
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^posted in my exit listener$/m);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    for (const [label, body] of [
      ['throws synchronously', 'throw new Error("boom")'],
      ['rejects after an await', 'await new Promise((r) => setTimeout(r, 20)); throw new Error("boom")'],
    ]) {
      it(`fn ${label} inside withLock (no releaseOnExit): withLock releases, the rejection is unhandled, exit 1`, async () => {
        const sem = new Semaphore(uniqueName('withlock'), { value: 1 });
        try {
          const script = `const S = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
            const sem = new S(${JSON.stringify(sem.name)}, { create: false });
            sem.withLock(async () => { process.stdout.write('inside ' + sem.value + '\\n'); ${body} });`;
          const { code, stdout, stderr } = await runCode(script).done;
          expect(code).to.equal(1);
          expect(stdout).to.match(/^inside 0$/m);
          expect(stderr).to.match(/boom/);
          expect(sem.value).to.equal(1);
        } finally {
          sem.close();
        }
      });
    }
  });

  describe('signals the program does not listen to', () => {
    it('wait(): a child process ending (SIGCHLD) does not interrupt it', async () => {
      const sem = new Semaphore(uniqueName('sigchld-wait'), { value: 0 });
      try {
        const child = run('fault-signal-during-timedwait.js', [sem.name, 'wait']);
        await child.line(/^waiting$/);
        await sleep(600); // the grandchild ends after 100 ms
        sem.post();
        const { code, stdout, stderr } = await within(child, 5000);
        expect(code, stderr).to.equal(0);
        const { outcome, ms } = JSON.parse(stdout.split('\n')[1]);
        expect(outcome).to.equal('acquired');
        expect(ms).to.be.at.least(300);
      } finally {
        sem.close();
      }
    });

    // Before c2eb745: EINTR from any signal with a handler (here libuv's SIGCHLD).
    it('timedWait(ms): a child process ending (SIGCHLD) does not interrupt it: ETIMEDOUT after ms', async () => {
      const sem = new Semaphore(uniqueName('sigchld-timedwait'), { value: 0 });
      try {
        const { code, stdout, stderr } = await runToEnd('fault-signal-during-timedwait.js', [sem.name, 'timedWait', '800']);
        expect(code, stderr).to.equal(0);
        const { outcome, ms } = JSON.parse(stdout.split('\n')[1]);
        expect(outcome).to.equal('ETIMEDOUT');
        expect(ms).to.be.at.least(790);
      } finally {
        sem.close();
      }
    });
  });
});
