'use strict';
// Robust ownership (robust: true, issue 12), with real processes: units taken
// through a robust handle come back when the taking process dies holding
// them, when a robust handle opens or a robust waiter ends a slice; producers,
// C programs and plain handles keep plain semantics; the ledger file
// (/dev/shm/psem.NAME) follows the semaphore's mode, goes with unlink(), and
// a corrupt or foreign one is refused with a SemaphoreError.
// The SIGKILL storm is in robust-kill-storm.test.js; memory in robust-memory.test.js.
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const {
  Semaphore,
  uniqueName,
  uniqueNameOfLength,
  unlinkAll,
  exists,
  ledgerPath,
  ledgerExists,
  ledgerHolders,
  mappings,
  run,
  failure,
  FIXTURES,
} = require('../support/helpers');

const { native } = require('../../dist/binding');

/** Runs robust-holder.js ACTION on `name`. */
const holder = (name, action, options) => run('robust-holder.js', [name, action, ...(options ? [JSON.stringify(options)] : [])]);

/** The value a fresh process sees after opening `name` (robust unless told): recovery at open. */
async function valueSeenByNewProcess(name, options) {
  const child = holder(name, 'open', options);
  const { code, stdout, stderr } = await child.done;
  expect(code, stderr).to.equal(0);
  return Number(/^value (\d+)$/m.exec(stdout)[1]);
}

/** Resolves with the ms from now until `child` prints a line matching `re`; rejects after `ms`. */
async function msUntilLine(child, re, ms) {
  const start = performance.now();
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([child.line(re), late]);
    return performance.now() - start;
  } finally {
    clearTimeout(timer);
  }
}

async function killed(child) {
  child.kill('SIGKILL');
  const { signal } = await child.done;
  expect(signal).to.equal('SIGKILL');
}

/** The units the ledger of `name` records for `pid` (0 when it has no slot). */
function unitsOf(name, pid) {
  return ledgerHolders(name)
    .filter((h) => h.pid === pid)
    .reduce((sum, h) => sum + h.units, 0);
}

describe('robust ownership (robust: true)', function () {
  this.timeout(30000);
  const children = [];
  const track = (child) => {
    children.push(child);
    return child;
  };
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await child.done;
    }
    unlinkAll();
  });

  describe('a holder SIGKILLed inside its critical section', () => {
    for (const [waiter, call] of [
      ['wait-async', 'await acquire()'],
      ['wait-sync', 'sync wait()'],
      ['timedwait', 'timedWait(10 s)'],
    ]) {
      for (const hold of ['hold-sync', 'hold-async']) {
        it(`a process waiting in ${call} on another robust handle gets the unit within a slice of the death (holder took it with ${hold === 'hold-sync' ? 'wait()' : 'acquire()'})`, async () => {
          const sem = new Semaphore(uniqueName('dies-holding'), { value: 1 });
          try {
            const owner = track(holder(sem.name, hold));
            await owner.line(/^holding$/);
            const waiting = track(holder(sem.name, waiter));
            await waiting.line(/^waiting$/);
            await sleep(300); // past the first slices: blocked in the wait proper
            expect(sem.value).to.equal(0);
            expect(unitsOf(sem.name, owner.pid)).to.equal(1);

            const start = performance.now();
            owner.kill('SIGKILL');
            await msUntilLine(waiting, /^acquired$/, 5000);
            const ms = performance.now() - start;
            console.log(`        SIGKILL → ${call} holding the unit: ${ms.toFixed(0)} ms`);
            expect(ms, 'ms from the kill to the waiter holding the unit').to.be.below(1000);
            const { code, stderr } = await waiting.done;
            expect(code, stderr).to.equal(0);
            expect(sem.value).to.equal(1); // recovered once, then posted back by the waiter
            expect(unitsOf(sem.name, owner.pid)).to.equal(0);
          } finally {
            sem.close();
          }
        });
      }
    }

    it('a plain (non-robust) waiter does not recover: it stays blocked until a robust handle opens', async () => {
      const sem = new Semaphore(uniqueName('plain-waiter'), { value: 1 });
      try {
        const owner = track(holder(sem.name, 'hold-sync'));
        await owner.line(/^holding$/);
        const waiting = track(holder(sem.name, 'wait-async', { robust: false }));
        await waiting.line(/^waiting$/);
        await killed(owner);
        await sleep(400);
        expect(waiting.exitCode).to.equal(null);
        expect(sem.value).to.equal(0);

        await valueSeenByNewProcess(sem.name); // a robust open recovers: the plain waiter takes the unit
        await msUntilLine(waiting, /^acquired$/, 5000);
        expect((await waiting.done).code).to.equal(0);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('sliced robust waits keep their contract', () => {
    it('a robust timedWait(300) on a taken semaphore throws ETIMEDOUT after 300 ms, not a slice later', async () => {
      const sem = new Semaphore(uniqueName('timed'), { value: 0, robust: true });
      try {
        const start = performance.now();
        const err = await failure(() => sem.timedWait(300));
        const ms = performance.now() - start;
        expect(err).to.include({ code: 'ETIMEDOUT' });
        expect(ms).to.be.at.least(295);
        expect(ms).to.be.below(600);
        expect(sem.value).to.equal(0);
      } finally {
        sem.close();
      }
    });

    it('a robust acquire({ timeout: 250 }) rejects ETIMEDOUT and holds nothing; a post then wakes a robust wait() at once', async () => {
      const sem = new Semaphore(uniqueName('timed-async'), { value: 0, robust: true });
      try {
        const err = await failure(sem.acquire({ timeout: 250 }));
        expect(err).to.include({ code: 'ETIMEDOUT' });
        expect(native.holders(sem['handle'])).to.deep.equal([]);
        const waiting = track(holder(sem.name, 'wait-sync'));
        await waiting.line(/^waiting$/);
        await sleep(200);
        sem.post();
        const ms = await msUntilLine(waiting, /^acquired$/, 5000);
        expect(ms, 'ms from the post to the robust waiter holding').to.be.below(500);
        expect((await waiting.done).code).to.equal(0);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('recovery when a robust handle opens', () => {
    it('a robust holder SIGKILLed while nobody waits: its unit stays taken until a robust handle opens in another process', async () => {
      const sem = new Semaphore(uniqueName('at-open'), { value: 2 });
      try {
        const owner = track(holder(sem.name, 'hold-async'));
        await owner.line(/^holding$/);
        expect(ledgerHolders(sem.name)).to.deep.include({ pid: owner.pid, units: 1, alive: true });
        await killed(owner);
        expect(sem.value).to.equal(1); // nobody robust has looked yet
        expect(ledgerHolders(sem.name)).to.deep.include({ pid: owner.pid, units: 1, alive: false });
        expect(await valueSeenByNewProcess(sem.name, { robust: false })).to.equal(1); // plain handles recover nothing

        expect(await valueSeenByNewProcess(sem.name)).to.equal(2);
        expect(sem.value).to.equal(2);
        expect(unitsOf(sem.name, owner.pid)).to.equal(0);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(2); // recovered once only
      } finally {
        sem.close();
      }
    });

    it('eight processes opening robustly at once after a holder of 3 units died recover them exactly once', async () => {
      const sem = new Semaphore(uniqueName('racing-recoverers'), { value: 4 });
      try {
        const owner = track(holder(sem.name, 'hold-sync', { count: 3 }));
        await owner.line(/^holding$/);
        await killed(owner);
        expect(sem.value).to.equal(1);
        const values = await Promise.all(Array.from({ length: 8 }, () => valueSeenByNewProcess(sem.name)));
        expect(values.every((v) => v >= 1 && v <= 4), `values seen: ${values}`).to.equal(true); // mid-recovery reads may see 2 or 3; never 5+
        expect(sem.value).to.equal(4);
      } finally {
        sem.close();
      }
    });

    it('liveness is the lock, not the pid: two holders that are both pid 1 (two pid namespaces), one SIGKILLed, only its unit comes back', async function () {
      if (spawnSync('unshare', ['--pid', '--fork', '--kill-child', 'true']).status !== 0) this.skip(); // needs root and util-linux
      const sem = new Semaphore(uniqueName('pid-namespaces'), { value: 2, robust: true });
      const holders = [];
      try {
        for (let i = 0; i < 2; i++) {
          // --kill-child: SIGKILL to unshare reaches its child, pid 1 of the new namespace.
          const child = spawn('unshare', ['--pid', '--fork', '--kill-child', process.execPath, path.join(FIXTURES, 'robust-holder.js'), sem.name, 'hold-sync']);
          holders.push(child);
          child.closed = new Promise((resolve) => child.on('close', resolve));
          await new Promise((resolve, reject) => {
            let out = '';
            child.stdout.on('data', (d) => (out += d) && /holding/.test(out) && resolve());
            child.on('close', (code) => reject(new Error(`holder in a pid namespace exited ${code}`)));
          });
        }
        expect(sem.value).to.equal(0);
        expect(ledgerHolders(sem.name).filter((h) => h.units > 0)).to.deep.equal([
          { pid: 1, units: 1, alive: true },
          { pid: 1, units: 1, alive: true },
        ]);
        holders[0].kill('SIGKILL');
        await holders[0].closed;
        await sleep(100); // the forked child dies right after unshare (parent-death signal)
        expect(native.recover(sem['handle'])).to.equal(1);
        expect(sem.value).to.equal(1);
        expect(ledgerHolders(sem.name).filter((h) => h.units > 0)).to.deep.equal([{ pid: 1, units: 1, alive: true }]);
      } finally {
        for (const child of holders) {
          child.kill('SIGKILL');
          await child.closed;
        }
        sem.close();
      }
    });

    it('a live holder keeps its unit when another process opens robustly or recovers', async () => {
      const sem = new Semaphore(uniqueName('alive'), { value: 1 });
      const robust = new Semaphore(sem.name, { create: false, robust: true });
      try {
        const owner = track(holder(sem.name, 'hold-sync'));
        await owner.line(/^holding$/);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(0);
        expect(native.recover(robust['handle'])).to.equal(0);
        expect(sem.value).to.equal(0);
        expect(native.holders(robust['handle'])).to.deep.include([owner.pid, 1, true]);

        await killed(owner);
        expect(native.recover(robust['handle'])).to.equal(1);
        expect(sem.value).to.equal(1);
        expect(native.recover(robust['handle'])).to.equal(0);
      } finally {
        robust.close();
        sem.close();
      }
    });

    it('robust + releaseOnExit, SIGTERM: the unit comes back once (posted at exit and unrecorded, nothing left to recover)', async () => {
      const sem = new Semaphore(uniqueName('release-on-exit'), { value: 1 });
      try {
        const owner = track(holder(sem.name, 'hold-sync', { releaseOnExit: true }));
        await owner.line(/^holding$/);
        owner.kill('SIGTERM');
        expect((await owner.done).signal).to.equal('SIGTERM');
        expect(sem.value).to.equal(1);
        expect(unitsOf(sem.name, owner.pid)).to.equal(0);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('a process that exits normally without posting what it took robustly gives it back (it died holding)', async () => {
      const sem = new Semaphore(uniqueName('exit-holding'), { value: 1 });
      try {
        const { code, stderr } = await track(holder(sem.name, 'take-and-exit')).done;
        expect(code, stderr).to.equal(0);
        expect(sem.value).to.equal(0);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('a unit taken, every robust handle closed, then posted through a new robust handle: nothing comes back a second time', async () => {
      const sem = new Semaphore(uniqueName('close-reopen'), { value: 1 });
      try {
        const { code, stdout, stderr } = await track(holder(sem.name, 'close-then-post')).done;
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^posted$/m);
        expect(sem.value).to.equal(1);
        expect(ledgerHolders(sem.name).filter((h) => h.units > 0), 'units still recorded for a process that posted them back').to.deep.equal([]);
        expect(await valueSeenByNewProcess(sem.name), 'value after a robust open (2: over-granted)').to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('producers, C programs and plain handles keep plain semantics', () => {
    it('a producer (robust, posts without taking) adds N; its record never goes below zero; dying takes nothing back', async () => {
      const sem = new Semaphore(uniqueName('producer'), { value: 0 });
      try {
        const producer = track(holder(sem.name, 'produce', { count: 5 }));
        await producer.line(/^posted$/);
        expect(sem.value).to.equal(5);
        const mine = ledgerHolders(sem.name).filter((h) => h.pid === producer.pid);
        expect(mine).to.deep.equal([{ pid: producer.pid, units: 0, alive: true }]);
        for (const h of ledgerHolders(sem.name)) expect(h.units, `units of ${h.pid}`).to.be.at.least(0);

        await killed(producer);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(5);
        expect(sem.value).to.equal(5);
      } finally {
        sem.close();
      }
    });

    it('a process that takes 1 and posts 3: the value grows by 2, its record stops at 0, its death gives nothing back', async () => {
      const sem = new Semaphore(uniqueName('take-produce'), { value: 1 });
      try {
        const producer = track(holder(sem.name, 'take-then-produce', { count: 3 }));
        await producer.line(/^posted$/);
        expect(sem.value).to.equal(3);
        expect(unitsOf(sem.name, producer.pid)).to.equal(0);
        await killed(producer);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(3);
      } finally {
        sem.close();
      }
    });

    it('a robust handle posting in this process (producer) leaves holders() without negative units', () => {
      const sem = new Semaphore(uniqueName('producer-here'), { value: 0, robust: true });
      try {
        for (let i = 0; i < 3; i++) sem.post();
        expect(sem.value).to.equal(3);
        sem.wait();
        expect(native.holders(sem['handle'])).to.deep.equal([[process.pid, 1, true]]);
        sem.post();
        sem.post();
        expect(native.holders(sem['handle'])).to.deep.equal([]); // this process holds none: left out
        expect(sem.value).to.equal(4);
      } finally {
        sem.close();
      }
    });

    it('a plain (non-robust) holder SIGKILLed keeps its unit: nothing is recovered for it', async () => {
      const sem = new Semaphore(uniqueName('plain-holder'), { value: 2, robust: true });
      try {
        const owner = track(holder(sem.name, 'hold-sync', { robust: false }));
        await owner.line(/^holding$/);
        expect(ledgerHolders(sem.name).filter((h) => h.pid === owner.pid)).to.deep.equal([]); // never in the ledger
        await killed(owner);
        expect(native.recover(sem['handle'])).to.equal(0);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(1);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    describe('with a C program (sem_open) on the same name', () => {
      let dir;
      let semctl;
      const c = (...args) => execFileSync(semctl, args, { encoding: 'utf8' }).trim();
      before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-robust-c-'));
        semctl = compileSemctl(dir);
      });
      after(() => fs.rmSync(dir, { recursive: true, force: true }));

      it("C takes and posts beside robust holders; only the dead robust holder's unit comes back, never C's", async () => {
        const sem = new Semaphore(uniqueName('c'), { value: 2, robust: true });
        try {
          expect(c(sem.name, 'trywait')).to.equal('acquired');
          const owner = track(holder(sem.name, 'hold-sync'));
          await owner.line(/^holding$/);
          expect(c(sem.name, 'trywait')).to.equal('EAGAIN');
          await killed(owner);
          expect(native.recover(sem['handle'])).to.equal(1);
          expect(sem.value).to.equal(1); // C's unit stays taken
          expect(c(sem.name, 'value')).to.equal('1');
          c(sem.name, 'post');
          c(sem.name, 'post'); // C as a producer too
          expect(sem.value).to.equal(3);
          expect(native.recover(sem['handle'])).to.equal(0);
          expect(await valueSeenByNewProcess(sem.name)).to.equal(3);
        } finally {
          sem.close();
        }
      });

      it('a semaphore removed by C (sem_unlink, ledger left behind) and created again: the old ledger never posts to the new one', async () => {
        const name = uniqueName('recreated');
        const old = new Semaphore(name, { value: 1 });
        try {
          const owner = track(holder(name, 'hold-sync'));
          await owner.line(/^holding$/);
          await killed(owner);
        } finally {
          old.close();
        }
        c(name, 'unlink'); // not through the package: the ledger stays, recording 1 unit of the old semaphore
        expect(ledgerExists(name)).to.equal(true);
        c(name, 'create', '1');
        const sem = new Semaphore(name, { create: false, robust: true });
        try {
          expect(sem.value).to.equal(1);
          expect(native.recover(sem['handle'])).to.equal(0);
          expect(await valueSeenByNewProcess(name)).to.equal(1);
        } finally {
          sem.close();
        }
      });

      it('a ledger whose 128 slots are all held by live processes gives SemaphoreError ENOSPC', async () => {
        const source = path.join(dir, 'lock-slots.c');
        const locker = path.join(dir, 'lock-slots');
        // Holds an OFD lock on every slot's byte (64 + 16 i) of the ledger, as 128 live robust processes would.
        fs.writeFileSync(
          source,
          `#define _GNU_SOURCE
          #include <fcntl.h>
          #include <stdio.h>
          #include <string.h>
          #include <unistd.h>
          int main(int argc, char **argv) {
            int fd = open(argv[1], O_RDWR);
            if (fd < 0) { perror("open"); return 1; }
            for (int i = 0; i < 128; i++) {
              struct flock l; memset(&l, 0, sizeof l);
              l.l_type = F_WRLCK; l.l_whence = SEEK_SET; l.l_start = 64 + 16 * i; l.l_len = 1;
              if (fcntl(fd, F_OFD_SETLK, &l) != 0) { perror("fcntl"); return 1; }
            }
            printf("locked\\n"); fflush(stdout);
            pause();
            return 0;
          }
`,
        );
        execFileSync('cc', ['-O2', '-Wall', '-o', locker, source]);
        const sem = new Semaphore(uniqueName('full'), { value: 1, robust: true });
        sem.close(); // no slot of ours: the ledger exists, sized
        const child = spawn(locker, [ledgerPath(sem.name)]);
        try {
          await new Promise((resolve, reject) => {
            child.stdout.once('data', resolve);
            child.once('exit', (code) => reject(new Error(`lock-slots exited ${code}`)));
          });
          const err = await failure(() => new Semaphore(sem.name, { create: false, robust: true }));
          expect(err).to.be.instanceOf(Semaphore.SemaphoreError);
          expect(err).to.include({ code: 'ENOSPC', syscall: 'open' });
          new Semaphore(sem.name, { create: false }).close(); // plain handles are not affected
        } finally {
          child.kill('SIGKILL');
          await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('close', resolve)));
        }
        const again = new Semaphore(sem.name, { create: false, robust: true }); // slots free again
        again.close();
      });

      it('a C process blocked in sem_wait gets the unit a robust open recovers', async () => {
        const sem = new Semaphore(uniqueName('c-waiter'), { value: 1 });
        try {
          const owner = track(holder(sem.name, 'hold-async'));
          await owner.line(/^holding$/);
          const waiter = spawn(semctl, [sem.name, 'wait']);
          let out = '';
          waiter.stdout.on('data', (d) => (out += d));
          const exited = new Promise((resolve) => waiter.on('close', resolve));
          await killed(owner);
          await sleep(200);
          expect(out).to.equal(''); // C does not recover
          await valueSeenByNewProcess(sem.name);
          expect(await exited).to.equal(0);
          expect(out.trim()).to.equal('acquired');
          expect(sem.value).to.equal(0); // the C program took it and exited without posting: not tracked
        } finally {
          sem.close();
        }
      });
    });
  });

  describe('worker threads', () => {
    for (const mainHandle of [false, true]) {
      it(`units a worker thread took robustly belong to the process: recorded while it lives after the worker ends, back when it is SIGKILLed${mainHandle ? ' (main thread holds a robust handle too)' : ''}`, async () => {
        const sem = new Semaphore(uniqueName('worker'), { value: 3 });
        try {
          const host = track(holder(sem.name, 'worker-hold', { mainHandle }));
          await msUntilLine(host, /^worker ended$/, 10000);
          expect(sem.value).to.equal(1);
          expect(ledgerHolders(sem.name)).to.deep.include({ pid: host.pid, units: 2, alive: true });
          expect(await valueSeenByNewProcess(sem.name)).to.equal(1); // alive: nothing recovered
          await killed(host);
          expect(ledgerHolders(sem.name)).to.deep.include({ pid: host.pid, units: 2, alive: false });
          expect(await valueSeenByNewProcess(sem.name)).to.equal(3);
        } finally {
          sem.close();
        }
      });
    }
  });

  describe('worker threads waiting robustly', () => {
    /** A process whose worker thread opens `name` robustly and runs `body` (sem in scope); the main thread relays its messages. */
    const workerProcess = (name, body) =>
      run('/dev/null', [], {
        nodeArgs: [
          '-e',
          `const { Worker } = require('node:worker_threads');
           const worker = new Worker(\`
             const { parentPort } = require('node:worker_threads');
             const S = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
             const sem = new S(${JSON.stringify(name)}, { create: false, robust: true });
             const say = (m) => parentPort.postMessage(m);
             (async () => { ${body} })();
           \`, { eval: true });
           worker.on('message', (m) => console.log(m));
           worker.on('error', (e) => { console.error(e); process.exitCode = 1; });
           process.stdin.on('data', async () => { const start = Date.now(); await worker.terminate(); console.log('terminated in ' + (Date.now() - start) + ' ms'); process.exit(); });`,
        ],
      });

    for (const [call, body] of [
      ['sync wait()', "say('waiting'); sem.wait(); say('acquired'); sem.post();"],
      ['await acquire()', "say('waiting'); await sem.acquire(); say('acquired'); sem.release();"],
    ]) {
      it(`a worker thread waiting in a robust ${call} gets the unit of a holder SIGKILLed in another process`, async () => {
        const sem = new Semaphore(uniqueName('worker-waiter'), { value: 1 });
        try {
          const owner = track(holder(sem.name, 'hold-sync'));
          await owner.line(/^holding$/);
          const host = track(workerProcess(sem.name, body));
          await host.line(/^waiting$/);
          await sleep(200);
          const start = performance.now();
          owner.kill('SIGKILL');
          await msUntilLine(host, /^acquired$/, 5000);
          expect(performance.now() - start, 'ms from the kill to the worker holding').to.be.below(1000);
          host.stdin.write('stop\n');
          const { code, stdout, stderr } = await host.done;
          expect(code, stderr).to.equal(0);
          expect(Number(/terminated in (\d+) ms/.exec(stdout)[1])).to.be.below(1000);
          expect(sem.value).to.equal(1);
        } finally {
          sem.close();
        }
      });
    }

    it('terminate() of a worker blocked in a robust sync wait() completes within a slice; it took nothing', async () => {
      const sem = new Semaphore(uniqueName('worker-terminate'), { value: 0 });
      try {
        const host = track(workerProcess(sem.name, "say('waiting'); sem.wait(); say('acquired');"));
        await host.line(/^waiting$/);
        await sleep(150);
        host.stdin.write('stop\n');
        const { code, stdout, stderr } = await host.done;
        expect(code, stderr).to.equal(0);
        expect(stdout).to.not.match(/^acquired$/m);
        expect(Number(/terminated in (\d+) ms/.exec(stdout)[1]), 'terminate() took (ms)').to.be.below(1000);
        sem.post();
        expect(sem.value).to.equal(1);
        expect(await valueSeenByNewProcess(sem.name)).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('the ledger file', () => {
    for (const [mode, expected] of [
      [0o600, 0o600],
      [0o640, 0o640],
      [0o666, 0o666 & ~process.umask()],
    ]) {
      it(`is created beside the semaphore with its mode (0o${mode.toString(8)} → 0o${expected.toString(8)}) and a fixed size`, () => {
        const sem = new Semaphore(uniqueName('mode'), { value: 1, mode, robust: true });
        try {
          const semStat = fs.statSync(`/dev/shm/sem.${sem.name.slice(1)}`);
          const ledger = fs.statSync(ledgerPath(sem.name));
          expect(semStat.mode & 0o777).to.equal(expected);
          expect(ledger.mode & 0o777, 'ledger mode').to.equal(semStat.mode & 0o777);
          expect(ledger.uid).to.equal(semStat.uid);
          expect(ledger.size).to.equal(64 + 128 * 16);
        } finally {
          sem.close();
        }
      });
    }

    it('has the mode of a semaphore that a plain handle created under another umask', () => {
      const name = uniqueName('umask');
      const old = process.umask(0);
      let plain;
      try {
        plain = new Semaphore(name, { value: 1, mode: 0o666 });
      } finally {
        process.umask(old);
      }
      try {
        expect(fs.statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777).to.equal(0o666);
        const sem = new Semaphore(name, { create: false, robust: true }); // under umask 0o022 (or whatever the runner has)
        sem.close();
        expect((fs.statSync(ledgerPath(name)).mode & 0o777).toString(8), 'ledger mode').to.equal('666');
      } finally {
        plain.close();
      }
    });

    it('sem.unlink() and Semaphore.unlink(name) remove the ledger with the semaphore', () => {
      const first = new Semaphore(uniqueName('unlink'), { robust: true });
      first.close();
      expect(ledgerExists(first.name)).to.equal(true);
      first.unlink();
      expect(exists(first.name)).to.equal(false);
      expect(ledgerExists(first.name)).to.equal(false);

      const second = new Semaphore(uniqueName('unlink-static'), { robust: true });
      try {
        Semaphore.unlink(second.name);
        expect(exists(second.name)).to.equal(false);
        expect(ledgerExists(second.name)).to.equal(false);
      } finally {
        second.close();
      }
    });

    it('a plain semaphore gets no ledger; a robust open of it adds one', () => {
      const sem = new Semaphore(uniqueName('plain'), { value: 1 });
      try {
        expect(ledgerExists(sem.name)).to.equal(false);
        new Semaphore(sem.name, { create: false, robust: true }).close();
        expect(ledgerExists(sem.name)).to.equal(true);
      } finally {
        sem.close();
      }
    });

    for (const [label, corrupt] of [
      ['of the wrong size', (file) => fs.writeFileSync(file, 'garbage, not a ledger\n')],
      ['of the right size with a wrong magic', (file) => fs.writeFileSync(file, Buffer.alloc(64 + 128 * 16, 0x5a))],
    ]) {
      it(`a corrupt ledger (${label}) gives SemaphoreError EINVAL from open, no crash, no mapping left`, async () => {
        const plain = new Semaphore(uniqueName('corrupt'), { value: 1 });
        try {
          corrupt(ledgerPath(plain.name));
          const before = mappings(plain.name);
          const err = await failure(() => new Semaphore(plain.name, { create: false, robust: true }));
          expect(err).to.be.instanceOf(Semaphore.SemaphoreError);
          expect(err).to.include({ code: 'EINVAL', syscall: 'open' });
          expect(err.message).to.include(plain.name);
          expect(mappings(plain.name), 'mappings of the semaphore').to.equal(before);
          plain.wait(); // the semaphore itself still works through plain handles
          plain.post();
          expect(plain.value).to.equal(1);
        } finally {
          plain.close();
        }
      });
    }

    it('a ledger owned by another user than the semaphore gives SemaphoreError EPERM', async function () {
      if (process.getuid() !== 0) this.skip(); // chown needs root
      const plain = new Semaphore(uniqueName('foreign'), { value: 1 });
      try {
        new Semaphore(plain.name, { create: false, robust: true }).close();
        fs.chownSync(ledgerPath(plain.name), 65534, 65534);
        const err = await failure(() => new Semaphore(plain.name, { create: false, robust: true }));
        expect(err).to.be.instanceOf(Semaphore.SemaphoreError);
        expect(err).to.include({ code: 'EPERM', syscall: 'open' });
      } finally {
        plain.close();
      }
    });

    it("another user's robust open of a shared semaphore (no ledger yet) never locks the semaphore's owner out of robust mode", async function () {
      if (process.getuid() !== 0) this.skip(); // plays two users: root and nobody (65534)
      const plain = new Semaphore(uniqueName('shared-owner'), { value: 1, mode: 0o666 });
      plain.close();
      fs.chownSync(`/dev/shm/sem.${plain.name.slice(1)}`, 65534, 65534); // the semaphore of user 65534, open to all
      let mine;
      try {
        new Semaphore(plain.name, { create: false, robust: true, trustedUsers: [65534] }).close();
      } catch (err) {
        mine = err; // refused: acceptable, as long as it leaves nothing in the owner's way
      }
      const code = `process.setgid(65534); process.setuid(65534);
        const S = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
        try { new S(${JSON.stringify(plain.name)}, { create: false, robust: true }).close(); console.log('owner: ok'); }
        catch (err) { console.log('owner: ' + err.code + ' ' + err.message); }`;
      const { stdout, stderr } = await run('/dev/null', [], { nodeArgs: ['-e', code] }).done;
      expect(stdout.trim(), `${stderr}; root's own open: ${mine ? `${mine.code}` : 'ok'}; ledger ${ledgerExists(plain.name) ? `left, owned by ${fs.statSync(ledgerPath(plain.name)).uid}` : 'absent'}`).to.equal('owner: ok');
    });

    it('names: 250 bytes work with robust: true (the ledger is psem. + 250 = 255 bytes); 251 bytes give ERR_INVALID_ARG_VALUE before any syscall', () => {
      const longest = uniqueNameOfLength(250);
      const sem = new Semaphore(longest, { robust: true });
      try {
        expect(ledgerExists(longest)).to.equal(true);
        sem.wait();
        sem.post();
      } finally {
        sem.close();
        sem.unlink();
      }
      expect(ledgerExists(longest)).to.equal(false);

      const tooLong = uniqueNameOfLength(251);
      expect(() => new Semaphore(tooLong, { robust: true })).to.throw().with.property('code', 'ERR_INVALID_ARG_VALUE');
      expect(exists(tooLong)).to.equal(false);
      expect(ledgerExists(tooLong)).to.equal(false);
      new Semaphore(tooLong).close(); // fine without robust (NAME_MAX - 4)
    });
  });
});
