'use strict';
// Faults around the name and /dev/shm: a name unlinked while a process
// waits on it, one name created and unlinked concurrently, no file
// descriptor left (EMFILE), a full /dev/shm (ENOSPC). Each ends in a
// documented state, with no crash and nothing leaked.
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, run, runToEnd, runCode, within, lineWithin, FIXTURES } = require('../support/helpers');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

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
          expect(await lineWithin(waiter, /^acquired$/, 300)).to.equal(undefined);
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

  describe('one name, created and unlinked concurrently', () => {
    // new Semaphore(name) creates exclusively first, opens when that fails
    // EEXIST, and tries again when the open then fails ENOENT (the name went
    // in between). Observed at the native boundary: each open() call and
    // its result (-errno on failure), in this process.
    const { native } = require('../../dist/binding');
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
      const script = `const S = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
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

  describe('resource exhaustion', () => {
    it('EMFILE (ulimit -n 64): new Semaphore throws SemaphoreError EMFILE, no crash; open handles keep working; one fd freed is enough', async () => {
      const sem = new Semaphore(uniqueName('emfile'), { value: 1 });
      try {
        const script = 'ulimit -n 64 && exec "$0" "$1" "$2"';
        const { code, stdout, stderr } = await runCommand(
          '/bin/sh',
          ['-c', script, process.execPath, path.join(FIXTURES, 'fault-emfile.js'), sem.name],
          10000,
        );
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
      const { code, signal, stdout, stderr } = await runCommand(
        'unshare',
        ['-m', '--propagation', 'private', '/bin/sh', '-c', script, process.execPath, path.join(FIXTURES, 'fault-enospc.js'), name],
        10000,
      );
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
});
