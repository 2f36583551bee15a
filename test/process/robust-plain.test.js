'use strict';
// Robust ownership (robust: true, issue 12) leaves plain semantics to those
// who do not take: producers that post without taking, C programs
// (sem_open on the same name) and plain handles.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, failure, compileSemctl } = require('../support/helpers');
const { ledgerPath, ledgerExists, ledgerHolders, unitsOf, holder, valueSeenByNewProcess, killed, trackChildren } = require('../support/robust');

const { native } = require('../../dist/binding');

describe('robust ownership (robust: true)', function () {
  this.timeout(30000);
  const track = trackChildren();

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
});
