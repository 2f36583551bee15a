'use strict';
// A robust ledger is a file in /dev/shm that every user of its semaphore can
// write (issue 20, items 6, 7, 8, 9 and 11): truncated under a holder it is
// an error, never a SIGBUS; a FIFO in its place never hangs; a robust create
// that fails on it leaves nothing behind; and the CLI says what is there and
// what it did, and refuses a post that recovery would grant a second time.
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, runCode, failure } = require('../support/helpers');
const { ledgerPath, holder } = require('../support/robust');
const { cli, valueOf, expectFailure } = require('../support/cli');

const ROOT = require('node:path').join(__dirname, '..', '..');

describe('robust ledgers that someone else broke (issue 20)', function () {
  this.timeout(30000);
  afterEach(unlinkAll);

  describe('a ledger truncated under a live holder (item 6)', () => {
    for (const [label, step] of [
      ['wait()', 'sem.wait()'],
      ['tryWait()', 'sem.tryWait()'],
      ['post()', 'sem.post()'],
      ['await acquire()', 'await sem.acquire()'],
    ]) {
      it(`the next ${label} does not crash; takes fail ENOTRECOVERABLE, posts still post`, async () => {
        const name = uniqueName('truncated');
        const child = runCode(`
          const Semaphore = require(${JSON.stringify(ROOT)});
          (async () => {
            const sem = new Semaphore(${JSON.stringify(name)}, { value: 3, robust: true });
            sem.wait();
            require('node:fs').truncateSync(${JSON.stringify(ledgerPath(name))}, 0);
            const outcome = async (fn) => { try { await fn(); return 'ok'; } catch (err) { return err.code; } };
            const first = await outcome(async () => { ${step}; });
            const take = await outcome(() => sem.tryWait());
            const post = await outcome(() => sem.post());
            console.log(JSON.stringify({ first, take, post, value: sem.value }));
            sem.close();
          })();
        `);
        const { code, signal, stdout, stderr } = await child.done;
        expect(signal, stderr).to.equal(null);
        expect(code, stderr).to.equal(0);
        const result = JSON.parse(stdout);
        // The access that meets the truncation completes (on zeroed memory); the next take is refused.
        expect(result.take).to.equal('ENOTRECOVERABLE');
        expect(result.post).to.equal('ok');
        expect(result.first).to.be.oneOf(['ok', 'ENOTRECOVERABLE']);
        // Nothing lost: 3, less the first wait(), less or plus the first step, plus the last post.
        const firstStep = result.first !== 'ok' ? 0 : label === 'post()' ? +1 : -1;
        expect(result.value).to.equal(3 - 1 + firstStep + 1);
      });
    }

    it("a unit that a waiting acquire() takes on the addon's wait thread after the truncation: no crash, the acquire resolves", async () => {
      const name = uniqueName('truncated-waiting');
      const plain = new Semaphore(name, { value: 0 });
      try {
        const child = runCode(`
          const Semaphore = require(${JSON.stringify(ROOT)});
          const sem = new Semaphore(${JSON.stringify(name)}, { create: false, robust: true });
          sem.acquire().then(() => { console.log('acquired'); sem.close(); }, (err) => { console.log('rejected ' + err.code); sem.close(); });
          console.log('waiting');
        `);
        await child.line(/^waiting$/);
        await new Promise((resolve) => setTimeout(resolve, 300)); // the wait is on its thread by now
        fs.truncateSync(ledgerPath(name), 0);
        plain.post(); // from this process: the child's wait thread takes it, and records it in the truncated ledger
        const { code, signal, stdout, stderr } = await child.done;
        expect(signal, stderr).to.equal(null);
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^acquired$/m);
      } finally {
        plain.close();
      }
    });

    it('a new robust open of it fails EINVAL (corrupt), and info and recover call it corrupt', async () => {
      const name = uniqueName('truncated-open');
      new Semaphore(name, { value: 1, robust: true }).close();
      fs.truncateSync(ledgerPath(name), 100);
      const err = (() => {
        try {
          new Semaphore(name, { create: false, robust: true });
        } catch (e) {
          return e;
        }
      })();
      expect(err).to.include({ code: 'EINVAL', syscall: 'open' });
      for (const command of ['info', 'recover']) {
        const result = await cli(command, name);
        expectFailure(result, 1, /ledger .* is corrupt/);
      }
    });
  });

  describe('a FIFO at the ledger path (item 7)', () => {
    it('info, recover, top --once and a robust open answer at once: corrupt, never a hang', async function () {
      const name = uniqueName('fifo');
      new Semaphore(name, { value: 1 }).close();
      execFileSync('mkfifo', [ledgerPath(name)]);
      try {
        const start = performance.now();
        expectFailure(await cli('info', name), 1, /is corrupt/);
        expectFailure(await cli('recover', name), 1, /is corrupt/);
        const top = await cli('top', '--count', '1', '--match', name.slice(1));
        expect(top.code, top.stderr).to.equal(0);
        const err = (() => {
          try {
            new Semaphore(name, { create: false, robust: true });
          } catch (e) {
            return e;
          }
        })();
        expect(err).to.include({ code: 'EINVAL' });
        expect(performance.now() - start).to.be.below(20000); // each would hang forever on the old code
      } finally {
        fs.rmSync(ledgerPath(name), { force: true });
      }
    });
  });

  describe('the CLI tells the truth (item 8)', () => {
    it('after an outside unlink and a new semaphore of the name: recover posts and reports nothing, info lists no holder', async () => {
      const name = uniqueName('replaced');
      new Semaphore(name, { value: 2 }).close();
      const owner = holder(name, 'hold-sync', { count: 2 });
      await owner.line(/^holding$/);
      owner.kill('SIGKILL');
      await owner.done;
      // Outside the package (C's sem_unlink, rm): the ledger stays, the name gets a new semaphore.
      fs.rmSync(`/dev/shm/sem.${name.slice(1)}`);
      new Semaphore(name, { value: 0 }).close();
      const info = await cli('info', name, '--json');
      expect(info.code, info.stderr).to.equal(0);
      expect(JSON.parse(info.stdout).holders).to.deep.equal([]);
      const recover = await cli('recover', name, '--json');
      expect(recover.code, recover.stderr).to.equal(0);
      expect(JSON.parse(recover.stdout)).to.include({ recovered: 0, value: 0 });
      expect(valueOf(name)).to.equal(0);
    });

    it("recover refuses a ledger that another user than the semaphore's owner made (it could name units nobody took)", async function () {
      if (process.getuid() !== 0) this.skip(); // chown needs root
      const name = uniqueName('recover-foreign');
      new Semaphore(name, { value: 1, robust: true }).close();
      fs.chownSync(ledgerPath(name), 65534, 65534);
      const result = await cli('recover', name);
      expectFailure(result, 1, /EPERM|another user|not permitted/);
      expect(valueOf(name)).to.equal(1);
    });

    it('recover reports exactly what it posted', async () => {
      const name = uniqueName('recover-count');
      new Semaphore(name, { value: 3, robust: true }).close();
      const owner = holder(name, 'hold-sync', { count: 2 });
      await owner.line(/^holding$/);
      owner.kill('SIGKILL');
      await owner.done;
      const result = await cli('recover', name, '--json');
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.include({ recovered: 2, value: 3 });
      const again = await cli('recover', name);
      expect(again.stdout).to.match(/^nothing to recover/);
    });
  });

  describe('a robust exclusive create that fails on its ledger (item 9)', () => {
    it('leaves no semaphore behind: the same create succeeds once the ledger is fixed', async () => {
      const name = uniqueName('create-fails');
      fs.writeFileSync(ledgerPath(name), 'not a ledger');
      const err = await failure(() => new Semaphore(name, { value: 1, exclusive: true, robust: true }));
      expect(err).to.include({ code: 'EINVAL' });
      expect(exists(name), 'semaphore left behind').to.equal(false);
      fs.rmSync(ledgerPath(name));
      const sem = new Semaphore(name, { value: 1, exclusive: true, robust: true });
      expect(sem.created).to.equal(true);
      sem.close();
    });

    it('the same for a create without exclusive that made the semaphore', async () => {
      const name = uniqueName('create-fails-plain');
      fs.writeFileSync(ledgerPath(name), 'not a ledger');
      await failure(() => new Semaphore(name, { value: 1, robust: true }));
      expect(exists(name), 'semaphore left behind').to.equal(false);
      fs.rmSync(ledgerPath(name));
    });
  });

  describe('post on a robust semaphore with recorded holders (item 11)', () => {
    it('refuses (exit 1, names the holders and recover) unless --force', async () => {
      const name = uniqueName('post-refused');
      new Semaphore(name, { value: 1, robust: true }).close();
      const owner = holder(name, 'hold-sync');
      await owner.line(/^holding$/);
      try {
        expectFailure(await cli('post', name), 1, new RegExp(`records 1 unit held by pid ${owner.pid} \\(1, alive\\).*--force`));
        expect(valueOf(name)).to.equal(0);
        owner.kill('SIGKILL');
        await owner.done;
        expectFailure(await cli('post', name), 1, /dead.*recover/);
        const forced = await cli('post', name, '--force');
        expect(forced.code, forced.stderr).to.equal(0);
        expect(valueOf(name)).to.equal(1);
      } finally {
        owner.kill('SIGKILL');
        await owner.done;
      }
    });

    it('posts as before when the ledger records nothing held', async () => {
      const name = uniqueName('post-free');
      new Semaphore(name, { value: 0, robust: true }).close();
      const result = await cli('post', name);
      expect(result.code, result.stderr).to.equal(0);
      expect(valueOf(name)).to.equal(1);
    });
  });
});
