'use strict';
// Recovery when a robust handle opens (robust: true, issue 12), with real
// processes: the units of a dead robust holder come back once, whoever opens
// and however many at once; live holders, releaseOnExit and units posted
// back are never recovered twice.
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, FIXTURES } = require('../support/helpers');
const { ledgerHolders, unitsOf, holder, valueSeenByNewProcess, killed, trackChildren } = require('../support/robust');

const { native } = require('../../dist/binding');

describe('robust ownership (robust: true)', function () {
  this.timeout(30000);
  const track = trackChildren();

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
        expect(
          values.every((v) => v >= 1 && v <= 4),
          `values seen: ${values}`,
        ).to.equal(true); // mid-recovery reads may see 2 or 3; never 5+
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
          const child = spawn('unshare', [
            '--pid',
            '--fork',
            '--kill-child',
            process.execPath,
            path.join(FIXTURES, 'robust-holder.js'),
            sem.name,
            'hold-sync',
          ]);
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
        expect(
          ledgerHolders(sem.name).filter((h) => h.units > 0),
          'units still recorded for a process that posted them back',
        ).to.deep.equal([]);
        expect(await valueSeenByNewProcess(sem.name), 'value after a robust open (2: over-granted)').to.equal(1);
      } finally {
        sem.close();
      }
    });
  });
});
