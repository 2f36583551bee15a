'use strict';
// The robust ledger file (/dev/shm/psem.NAME, robust: true, issue 12): it
// follows the semaphore's mode and owner, goes with unlink(), is refused
// with a SemaphoreError when corrupt or foreign, and limits names to 250
// bytes.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, uniqueNameOfLength, unlinkAll, exists, mappings, run, failure } = require('../support/helpers');
const { ledgerPath, ledgerExists } = require('../support/robust');

describe('robust ownership (robust: true)', function () {
  this.timeout(30000);
  afterEach(unlinkAll);

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
      const name = uniqueName('foreign');
      new Semaphore(name, { value: 1, robust: true }).close(); // the ledger, made by the semaphore's owner; no handle left
      fs.chownSync(ledgerPath(name), 65534, 65534);
      const plain = new Semaphore(name, { create: false });
      try {
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
      expect(
        stdout.trim(),
        `${stderr}; root's own open: ${mine ? `${mine.code}` : 'ok'}; ledger ${ledgerExists(plain.name) ? `left, owned by ${fs.statSync(ledgerPath(plain.name)).uid}` : 'absent'}`,
      ).to.equal('owner: ok');
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
      expect(() => new Semaphore(tooLong, { robust: true }))
        .to.throw()
        .with.property('code', 'ERR_INVALID_ARG_VALUE');
      expect(exists(tooLong)).to.equal(false);
      expect(ledgerExists(tooLong)).to.equal(false);
      new Semaphore(tooLong).close(); // fine without robust (NAME_MAX - 4)
    });
  });
});
