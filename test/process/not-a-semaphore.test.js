'use strict';
// A file in /dev/shm named like a semaphore that is not one (32 bytes of
// garbage, which glibc would map as a sem_t) is refused with EINVAL when it
// is opened, and left alone; nothing aborts. Children do the opening, so
// that an abort shows as their exit status.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, runToEnd, within } = require('../support/helpers');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const shmFile = (name) => `/dev/shm/sem.${name.slice(1)}`;

describe('a file in /dev/shm that is not a semaphore', function () {
  this.timeout(30_000);
  afterEach(unlinkAll);

  for (const [label, byte] of [
    ['32 × 0x41', 0x41],
    ['32 × 0xff', 0xff],
  ]) {
    const garbage = Buffer.alloc(32, byte);

    for (const options of [{}, { create: false }]) {
      it(`${label}: new Semaphore(name, ${JSON.stringify(options)}) throws SemaphoreError EINVAL (sem_open, "not a semaphore"), leaves the file as it was, and the process lives on`, async () => {
        const name = uniqueName('garbage');
        fs.writeFileSync(shmFile(name), garbage, { mode: 0o600 });
        try {
          const result = await within(run('not-a-semaphore.js', [name, JSON.stringify(options)]), 10_000);
          expect(result.stderr).not.to.match(/futex facility/);
          expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: 0, signal: null });
          const report = JSON.parse(result.stdout.trim().split('\n')[0]);
          expect(report.opened, 'the constructor returned a handle').to.equal(undefined);
          expect(report.error).to.include({ name: 'SemaphoreError', code: 'EINVAL', syscall: 'sem_open', isSemaphoreError: true });
          expect(report.error.message).to.match(/not a semaphore/);
          expect(fs.readFileSync(shmFile(name)).equals(garbage), 'the file was changed').to.equal(true);
        } finally {
          fs.rmSync(shmFile(name), { force: true });
        }
      });
    }

    it(`${label}: \`posix-semaphore post NAME\` exits 1 with a message, not by SIGABRT, and leaves the file as it was`, async () => {
      const name = uniqueName('garbage-cli');
      fs.writeFileSync(shmFile(name), garbage, { mode: 0o600 });
      try {
        const result = await runToEnd(CLI, ['post', name]);
        expect(result.stderr).not.to.match(/futex facility/);
        expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: 1, signal: null });
        expect(result.stderr).to.match(/^posix-semaphore: .*not a semaphore/m);
        expect(fs.readFileSync(shmFile(name)).equals(garbage), 'the file was changed').to.equal(true);
      } finally {
        fs.rmSync(shmFile(name), { force: true });
      }
    });
  }

  it('a real semaphore of the same size still opens (no false positive): created here, then opened by another process', async () => {
    const name = uniqueName('real');
    const sem = new Semaphore(name, { value: 1 });
    try {
      expect(fs.statSync(shmFile(name)).size).to.equal(32);
      const result = await runToEnd(CLI, ['post', name]);
      expect(result.code, result.stderr).to.equal(0);
      expect(sem.value).to.equal(2);
    } finally {
      sem.close();
    }
  });
});
