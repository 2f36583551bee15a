'use strict';
// A C program compiled here with cc (sem_open on the same name) sees and
// changes the same semaphore as the package, in both directions.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, compileSemctl } = require('../support/helpers');

describe('interoperability with C (sem_open)', () => {
  let dir;
  let semctl;
  const c = (...args) => execFileSync(semctl, args, { encoding: 'utf8' }).trim();

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-c-'));
    semctl = compileSemctl(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(unlinkAll);

  it('C reads and changes a semaphore the package created', () => {
    const sem = new Semaphore(uniqueName(), { value: 2 });
    try {
      expect(c(sem.name, 'value')).to.equal('2');
      expect(c(sem.name, 'trywait')).to.equal('acquired');
      expect(sem.value).to.equal(1);
      sem.wait();
      expect(c(sem.name, 'value')).to.equal('0');
      expect(c(sem.name, 'trywait')).to.equal('EAGAIN');
      c(sem.name, 'post');
      c(sem.name, 'post');
      expect(sem.value).to.equal(2);
    } finally {
      sem.close();
    }
  });

  it('the package opens, takes and posts a semaphore C created, and C unlinks it', () => {
    const name = uniqueName();
    c(name, 'create', '3');
    const sem = new Semaphore(name, { create: false });
    try {
      expect(sem.created).to.equal(false);
      expect(sem.value).to.equal(3);
      sem.wait();
      sem.tryWait();
      expect(c(name, 'value')).to.equal('1');
      sem.post();
      expect(c(name, 'value')).to.equal('2');
      c(name, 'unlink');
      expect(exists(name)).to.equal(false);
      expect(() => new Semaphore(name, { create: false }))
        .to.throw()
        .with.property('code', 'ENOENT');
    } finally {
      sem.close();
    }
  });

  it('a C process blocked in sem_wait is woken by post() from Node, and the reverse', async () => {
    const sem = new Semaphore(uniqueName(), { value: 0 });
    try {
      const child = spawn(semctl, [sem.name, 'wait']);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const exited = new Promise((resolve) => child.on('close', resolve));
      await new Promise((r) => setTimeout(r, 100));
      expect(out).to.equal(''); // still blocked
      sem.post();
      expect(await exited).to.equal(0);
      expect(out.trim()).to.equal('acquired');
      expect(sem.value).to.equal(0);

      const waiting = sem.acquire();
      await new Promise((r) => setTimeout(r, 100));
      c(sem.name, 'post');
      await waiting;
      expect(sem.value).to.equal(0);
    } finally {
      sem.close();
    }
  });
});
