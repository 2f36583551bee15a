'use strict';
// Faults, with real processes and threads: holders killed, signals, uncaught
// exceptions, workers terminated, close() racing acquire(), a name unlinked
// under a waiter, no file descriptors left, a full /dev/shm. Each ends in a
// documented state, with no crash and nothing leaked.
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, run, runToEnd, within, FIXTURES } = require('./helpers');

const CLI = path.join(__dirname, '..', 'dist', 'cli.js');

/** true when `child` has printed a line matching `re` within `ms`. */
async function printsWithin(child, re, ms) {
  return Promise.race([child.line(re).then(() => true, () => false), sleep(ms).then(() => false)]);
}

/** Runs `node -e code` as a child, like run() runs a fixture (the file argument is only argv[1]). */
function runCode(code) {
  return run('/dev/null', [], { nodeArgs: ['-e', code] });
}

/** Runs a command that is not node (sh, unshare) to its end: { code, signal, stdout, stderr, hung }. */
function runCommand(file, args, ms) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

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
        expect(await printsWithin(waiter, /^acquired$/, 400)).to.equal(false);

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
          const script = `const S = require(${JSON.stringify(path.join(__dirname, '..'))});
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

  describe('worker threads', () => {
    it('40 workers holding, waiting, looping withLock or timedWait, terminated at random moments: value exact (releaseOnExit)', async function () {
      const sem = new Semaphore(uniqueName('workers'), { value: 2 });
      try {
        const { code, stdout, stderr } = await runToEnd('fault-workers.js', [sem.name, '40', String(Date.now())]);
        expect(code, stderr + stdout).to.equal(0);
        const report = JSON.parse(stdout.trim().split('\n').pop());
        expect(report.value, stdout).to.equal(2);
        expect(sem.value).to.equal(2);
      } finally {
        sem.close();
      }
    });

    it('terminate() of a worker blocked in a sync wait() completes within a wait slice, before any post; the worker (releaseOnExit) took nothing', async () => {
      const sem = new Semaphore(uniqueName('worker-sync'), { value: 0 });
      try {
        const script = `
          const { Worker } = require('node:worker_threads');
          const S = require(${JSON.stringify(path.join(__dirname, '..'))});
          const sem = new S(${JSON.stringify(sem.name)}, { create: false });
          const worker = new Worker(\`
            const { parentPort } = require('node:worker_threads');
            const S = require(${JSON.stringify(path.join(__dirname, '..'))});
            const sem = new S(${JSON.stringify(sem.name)}, { create: false, releaseOnExit: true });
            parentPort.postMessage('waiting');
            sem.wait();
          \`, { eval: true });
          worker.once('message', async () => {
            await new Promise((r) => setTimeout(r, 50));
            let done = false;
            const ended = worker.terminate().then(() => { done = true; });
            await new Promise((r) => setTimeout(r, 300));
            console.log('terminated before the post: ' + done);
            sem.post();
            await ended;
            console.log('terminated after the post; value ' + sem.value);
          });`;
        const { code, stdout, stderr } = await runCode(script).done;
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^terminated before the post: true$/m);
        expect(stdout).to.match(/^terminated after the post; value 1$/m);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('close() racing acquire()', () => {
    it('300 rounds of acquires closed at random moments while units come and go: every acquire settles once, value exact', async () => {
      const name = uniqueName('close-race');
      const owner = new Semaphore(name, { value: 1 });
      let resolved = 0;
      let closedRejections = 0;
      let timeouts = 0;
      try {
        for (let round = 0; round < 300; round++) {
          const sem = new Semaphore(name, { create: false });
          const count = 1 + (round % 4);
          const settled = [];
          for (let i = 0; i < count; i++) {
            const options = i % 3 === 2 ? { timeout: round % 5 } : undefined;
            settled.push(sem.acquire(options).then(() => 'resolved', (err) => err.code));
          }
          // Units come and go around the close: taken, posted back, posted from elsewhere.
          const when = round % 6;
          if (when === 1) await new Promise((r) => setImmediate(r));
          if (when === 2) await sleep(1);
          if (when === 3) owner.post();
          if (when === 4) await sleep(round % 3);
          sem.close();
          // Take back the extra unit, from whoever holds it. Not a sync wait(): a slice
          // that took a unit just before close() gives it back on this thread.
          if (when === 3) await owner.acquire({ timeout: 5000 });
          const outcomes = await Promise.all(settled);
          for (const outcome of outcomes) {
            if (outcome === 'resolved') {
              resolved++;
              owner.post(); // the handle is closed: give the unit back through another
            } else if (outcome === 'ERR_SEMAPHORE_CLOSED') closedRejections++;
            else if (outcome === 'ETIMEDOUT') timeouts++;
            else expect.fail(`unexpected outcome ${outcome}`);
          }
        }
        await sleep(150); // any wait slice still on the pool gives its unit back
        expect(owner.value).to.equal(1);
        expect(resolved).to.be.above(0);
        expect(closedRejections).to.be.above(0);
      } finally {
        owner.close();
      }
    });
  });

  describe('a name unlinked while a process waits on it', () => {
    for (const mode of ['wait-sync', 'wait-async']) {
      it(`${mode}: the waiter keeps the old semaphore; a post to the new one does not wake it, a post to the old one does`, async () => {
        const name = uniqueName('unlinked');
        const old = new Semaphore(name, { value: 0 });
        let fresh;
        try {
          const waiter = run('fault-holder.js', [name, mode]);
          await waiter.line(/^waiting$/);
          await sleep(50);
          const unlink = await runToEnd(CLI, ['unlink', name]);
          expect(unlink.code, unlink.stderr).to.equal(0);
          expect(exists(name)).to.equal(false);

          fresh = new Semaphore(name, { value: 0 });
          expect(fresh.created).to.equal(true);
          fresh.post();
          expect(await printsWithin(waiter, /^acquired$/, 300)).to.equal(false);
          expect(fresh.value).to.equal(1); // nobody took it

          old.post();
          const result = await within(waiter, 5000);
          expect(result.code, result.stderr).to.equal(0);
          expect(result.stdout).to.match(/^acquired$/m);
          expect(old.value).to.equal(1); // the waiter posted it back to the old object
          expect(fresh.value).to.equal(1);
        } finally {
          old.close();
          if (fresh) fresh.close();
        }
      });
    }
  });

  describe('resource exhaustion', () => {
    it('EMFILE (ulimit -n 64): new Semaphore throws SemaphoreError EMFILE, no crash; open handles keep working; one fd freed is enough', async () => {
      const sem = new Semaphore(uniqueName('emfile'), { value: 1 });
      try {
        const script = 'ulimit -n 64 && exec "$0" "$1" "$2"';
        const { code, stdout, stderr } = await runCommand('/bin/sh', ['-c', script, process.execPath, path.join(FIXTURES, 'fault-emfile.js'), sem.name], 10000);
        expect(code, stderr).to.equal(0);
        const report = JSON.parse(stdout.trim().split('\n').pop());
        expect(report.exhausted).to.equal('EMFILE');
        const emfile = { name: 'SemaphoreError', code: 'EMFILE', syscall: 'sem_open', isSemaphoreError: true };
        expect(report.create).to.deep.equal(emfile);
        expect(report.open).to.deep.equal(emfile);
        expect(report.wait).to.equal('ok');
        expect(report.acquire).to.equal('ok');
        expect(report.afterClosingOne).to.equal('ok');
        expect(exists(`${sem.name}-new`)).to.equal(false); // nothing half-created
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('a full /dev/shm (a 64 kB tmpfs in a private mount namespace): ENOSPC, no SIGBUS, no temporary file left, existing semaphores work', async function () {
      // Only ever inside `unshare -m --propagation private`: the host's /dev/shm is never touched.
      const mountTiny = 'mount -t tmpfs -o size=64k tmpfs /dev/shm';
      const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', mountTiny], { encoding: 'utf8' });
      if (probe.error || probe.status !== 0) {
        // Needs root (or CAP_SYS_ADMIN) and util-linux's unshare; filling the real /dev/shm is not safe.
        this.skip();
      }
      const name = uniqueName('enospc');
      const script = `${mountTiny} && exec "$0" "$1" "$2"`;
      const { code, signal, stdout, stderr } = await runCommand('unshare', ['-m', '--propagation', 'private', '/bin/sh', '-c', script, process.execPath, path.join(FIXTURES, 'fault-enospc.js'), name], 10000);
      expect({ code, signal }, stderr).to.deep.equal({ code: 0, signal: null });
      const report = JSON.parse(stdout.trim().split('\n').pop());
      expect(report.filled).to.equal('ENOSPC');
      expect(report.create).to.include({ name: 'SemaphoreError', code: 'ENOSPC', syscall: 'sem_open' });
      expect(report.create.message).to.match(/\/dev\/shm full/);
      expect(report.existingValue).to.equal(1);
      expect(report.left).to.deep.equal(['filler', `sem.${name.slice(1)}-existing`]);
      expect(report.createdAfterFreeing).to.equal(true);
      expect(exists(name)).to.equal(false); // the real /dev/shm never saw it
    });
  });

  describe('the hazards of a rejected acquire()', () => {
    for (const how of ['timeout', 'abort']) {
      // Deadlocked before be77ff1: the rejected acquire's slice took the posted unit and could only give it back on the blocked JS thread.
      it(`a sync wait() right after an acquire() rejected by ${how} gets the unit another process posts`, async () => {
        const sem = new Semaphore(uniqueName('reject-then-wait'), { value: 0 });
        try {
          const child = run('fault-sync-after-reject.js', [sem.name, how]);
          await child.line(/^waiting$/);
          await sleep(20);
          sem.post();
          const result = await within(child, 3000);
          expect(result.hung, 'the child deadlocked: its sync wait() never returned').to.equal(undefined);
          expect(result.stdout).to.match(how === 'abort' ? /^acquire: (ABORT_ERR|TimeoutError)$/m : /^acquire: ETIMEDOUT$/m);
          expect(result.stdout).to.match(/^acquired$/m);
          expect(result.code, result.stderr).to.equal(0);
          expect(sem.value).to.equal(1);
        } finally {
          sem.close();
        }
      });
    }
  });

  describe('a unit taken by the wait slice while the acquire() is being rejected', () => {
    for (const how of ['timeout', 'abort']) {
      // Deadlocked before 4b8906d: the unit reached JS only after the rejection handler, whose sync wait() blocked forever.
      it(`rejected by ${how} with the unit already taken by the slice: the unit is free for a sync wait() in the rejection handler`, async () => {
        const sem = new Semaphore(uniqueName('reject-race'), { value: 0 });
        try {
          const result = await within(run('fault-reject-race.js', [sem.name, how]), 5000);
          expect(result.hung, `the child deadlocked: ${result.stdout}`).to.equal(undefined);
          expect(result.stdout).to.match(how === 'abort' ? /^acquire: ABORT_ERR$/m : /^acquire: ETIMEDOUT$/m);
          expect(result.stdout).to.match(/^acquired$/m);
          expect(result.code, result.stderr).to.equal(0);
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

  describe('one name, created and unlinked concurrently', () => {
    // new Semaphore(name) creates exclusively first, opens when that fails
    // EEXIST, and tries again when the open then fails ENOENT (the name went
    // in between). Observed at the native boundary: each open() call and
    // its result (-errno on failure), in this process.
    const { native } = require('../dist/binding');
    const { EEXIST, ENOENT } = require('node:os').constants.errno;

    /** Calls `fn` with native.open wrapped: `onResult(args, result)` sees each call; `retries()` counts EEXIST-then-ENOENT pairs. */
    function watchingOpens(fn, onResult = () => {}) {
      const open = native.open;
      let lastExistedOnCreate = false;
      let retries = 0;
      native.open = (...args) => {
        const result = open(...args);
        const exclusive = (args[1] & native.constants.O_EXCL) !== 0;
        if (!exclusive && lastExistedOnCreate && result === -ENOENT) retries++;
        lastExistedOnCreate = exclusive && result === -EEXIST;
        onResult(args, result);
        return result;
      };
      const restore = () => {
        native.open = open;
      };
      return Promise.resolve()
        .then(() => fn(() => retries))
        .finally(restore);
    }

    it('the name vanishes between the exclusive create (EEXIST) and the open (ENOENT): new Semaphore() tries again and creates it', async () => {
      const name = uniqueName('vanishing');
      new Semaphore(name, { value: 1 }).close();
      await watchingOpens(
        (retries) => {
          const sem = new Semaphore(name, { value: 3 });
          try {
            expect(retries(), 'EEXIST then ENOENT').to.equal(1);
            expect(sem.created, 'the second exclusive create made it').to.equal(true);
            expect(sem.value).to.equal(3);
          } finally {
            sem.close();
          }
        },
        // Another process unlinking at that very moment, made certain.
        (args, result) => {
          if (result === -EEXIST && args[0] === name) Semaphore.unlink(name);
        },
      );
    });

    it('new Semaphore(name) while another process creates and unlinks the name in a loop: every open succeeds, some only by trying again (EEXIST then ENOENT), never a crash', async () => {
      const name = uniqueName('churn');
      const script = `const S = require(${JSON.stringify(path.join(__dirname, '..'))});
        // Until stdin closes (looked at between batches), or 20 s at most.
        let stop = false;
        process.stdin.on('end', () => { stop = true; }).resume();
        const end = Date.now() + 20000; let n = 0;
        const poll = () => new Promise((r) => setImmediate(r));
        (async () => { while (!stop && Date.now() < end) { for (let i = 0; i < 50; i++) {
          try { new S(${JSON.stringify(name)}, { value: 1 }).close(); } catch (e) { if (e.code !== 'ENOENT') throw e; }
          try { S.unlink(${JSON.stringify(name)}); n++; } catch (e) { if (e.code !== 'ENOENT') throw e; }
        } await poll(); }
        console.log('unlinked ' + n); })();`;
      const churner = runCode(script);
      let opened = 0;
      let created = 0;
      let retried = 0;
      const failures = [];
      await watchingOpens(async (retries) => {
        // Until the race was seen often enough to matter, for at most 3 s.
        const end = Date.now() + 3000;
        while (Date.now() < end && retries() < 10) {
          try {
            const sem = new Semaphore(name, { value: 1 });
            if (sem.created) created++;
            opened++;
            sem.close();
          } catch (err) {
            failures.push(err.code);
          }
          if (opened % 200 === 0) await new Promise((r) => setImmediate(r));
        }
        retried = retries();
      });
      // Not SIGKILL: killed inside sem_open, it would leave glibc's temporary file in /dev/shm.
      churner.stdin.end();
      await churner.done;
      expect(failures, `${failures.length} of ${opened + failures.length} opens failed`).to.deep.equal([]);
      expect(opened).to.be.above(100);
      expect(created).to.be.above(0);
      expect(retried, `opens that found the name, then lost it, and tried again (of ${opened})`).to.be.above(0);
    });
  });
});
