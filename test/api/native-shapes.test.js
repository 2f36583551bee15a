'use strict';
// The native layer's cold paths answer with small objects, never numbers
// with bits packed in them (issue 21): open() returns the handle, its bound
// calls and the file's owner by name; a robust open whose ledger fails
// returns { ledgerErrno }; a sync wait that a signal ended returns
// { signals: mask }. Hot paths still return undefined or -errno.
const fs = require('node:fs');
const { expect } = require('chai');
const { constants } = require('node:os');
const { Semaphore, uniqueName, unlinkAll, runCode } = require('../support/helpers');
const { native } = require('../../dist/binding');

const { errno, signals } = constants;

describe('native cold paths return small objects', () => {
  afterEach(unlinkAll);

  it('open() returns { handle, tryWait, post, wait, timedWait, ownerUid, ownerGid }; the hot calls return undefined or -errno', () => {
    const name = uniqueName('shape-open');
    const { O_CREAT, O_EXCL } = native.constants;
    const opened = native.open(name, O_CREAT | O_EXCL, 0o600, 1, 0);
    try {
      expect(opened).to.be.an('object').that.has.all.keys('handle', 'tryWait', 'post', 'wait', 'timedWait', 'ownerUid', 'ownerGid');
      expect(opened.ownerUid).to.equal(-1); // created here exclusively: nothing to trust
      expect(opened.tryWait()).to.equal(undefined);
      expect(opened.tryWait()).to.equal(-errno.EAGAIN);
      expect(opened.timedWait(1, 0)).to.equal(-errno.ETIMEDOUT);
      expect(opened.post()).to.equal(undefined);
      const again = native.open(name, 0, 0, 0, 0);
      expect(again.ownerUid).to.equal(process.getuid());
      expect(again.ownerGid).to.equal(process.getgid());
      native.close(again.handle);
      expect(again.post()).to.equal(-errno.EBADF);
    } finally {
      native.close(opened.handle);
    }
    expect(native.open(uniqueName('shape-missing'), 0, 0, 0, 0)).to.equal(-errno.ENOENT);
  });

  it('a robust open whose ledger is corrupt returns { ledgerErrno: EINVAL }, and the API throws EINVAL naming the ledger', () => {
    const name = uniqueName('shape-ledger');
    const sem = new Semaphore(name, { value: 1 });
    const ledger = `/dev/shm/psem.${name.slice(1)}`;
    try {
      fs.writeFileSync(ledger, Buffer.alloc(64 + 128 * 16, 0x5a), { mode: 0o600 });
      expect(native.open(name, 0, 0, 0, native.constants.ROBUST)).to.deep.equal({ ledgerErrno: errno.EINVAL });
      let thrown;
      try {
        new Semaphore(name, { create: false, robust: true });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.include({ code: 'EINVAL', syscall: 'open' });
      expect(thrown.message).to.include(ledger);
    } finally {
      sem.close();
      fs.rmSync(ledger, { force: true });
    }
  });

  it('a sync wait that a signal the program listens to ended returns { signals: its mask }', async () => {
    const sem = new Semaphore(uniqueName('shape-eintr'), { value: 0 });
    try {
      const child = runCode(
        `const { native } = require('./dist/binding');
         process.on('SIGUSR2', () => {});
         const opened = native.open(${JSON.stringify(sem.name)}, 0, 0, 0, 0);
         process.stdout.write('blocking\\n');
         const mask = 1 << ${signals.SIGUSR2};
         const result = opened.timedWait(10000, mask);
         process.stdout.write(JSON.stringify({ result, mask }) + '\\n');
         native.close(opened.handle);`,
      );
      await child.line(/^blocking/);
      await new Promise((resolve) => setTimeout(resolve, 200)); // into the wait
      child.kill('SIGUSR2');
      const { code, stdout, stderr } = await child.done;
      expect(code, stderr).to.equal(0);
      const { result, mask } = JSON.parse(stdout.trim().split('\n').pop());
      expect(result).to.deep.equal({ signals: mask });
      expect(sem.value).to.equal(0);
    } finally {
      sem.close();
    }
  });
});
