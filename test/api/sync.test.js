'use strict';
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, mappings } = require('../support/helpers');

describe('synchronous API', () => {
  afterEach(unlinkAll);

  it('the module is the class, and carries Semaphore, SemaphoreError and default', () => {
    expect(Semaphore).to.be.a('function');
    expect(Semaphore.Semaphore).to.equal(Semaphore);
    expect(Semaphore.default).to.equal(Semaphore);
    expect(Semaphore.SemaphoreError.prototype).to.be.instanceOf(Error);
  });

  it('creates a semaphore with value 1 by default, and reports it as created', () => {
    const name = uniqueName();
    const sem = new Semaphore(name);
    try {
      expect(sem.name).to.equal(name);
      expect(sem.created).to.equal(true);
      expect(sem.closed).to.equal(false);
      expect(sem.value).to.equal(1);
      expect(exists(name)).to.equal(true);
    } finally {
      sem.close();
    }
  });

  it('adds the leading "/" to a bare name: "x" and "/x" are one semaphore', () => {
    const name = uniqueName();
    const a = new Semaphore(name.slice(1), { value: 3 });
    const b = new Semaphore(name);
    try {
      expect(a.name).to.equal(name);
      expect(b.created).to.equal(false);
      a.wait();
      expect(b.value).to.equal(2);
    } finally {
      a.close();
      b.close();
    }
  });

  it('wait() takes a unit and post() gives it back', () => {
    const sem = new Semaphore(uniqueName(), { value: 2 });
    try {
      sem.wait();
      expect(sem.value).to.equal(1);
      sem.wait();
      expect(sem.value).to.equal(0);
      sem.post();
      sem.post();
      expect(sem.value).to.equal(2);
    } finally {
      sem.close();
    }
  });

  it('tryWait() takes a free unit and throws EAGAIN when the semaphore is taken', () => {
    const sem = new Semaphore(uniqueName());
    try {
      sem.tryWait();
      expect(sem.value).to.equal(0);
      let error;
      try {
        sem.tryWait();
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(Semaphore.SemaphoreError);
      expect(error).to.include({ code: 'EAGAIN', errno: 11, syscall: 'sem_trywait', semaphore: sem.name });
      expect(error.name).to.equal('SemaphoreError');
      expect(error.message).to.match(/is taken/);
      expect(sem.value).to.equal(0);
    } finally {
      sem.close();
    }
  });

  it('timedWait(ms) takes a free unit at once', () => {
    const sem = new Semaphore(uniqueName());
    try {
      sem.timedWait(1000);
      expect(sem.value).to.equal(0);
    } finally {
      sem.close();
    }
  });

  it('timedWait(ms) throws ETIMEDOUT after about ms when the semaphore stays taken', () => {
    const sem = new Semaphore(uniqueName(), { value: 0 });
    try {
      const start = process.hrtime.bigint();
      expect(() => sem.timedWait(80))
        .to.throw(Semaphore.SemaphoreError)
        .with.property('code', 'ETIMEDOUT');
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      expect(ms).to.be.at.least(79);
      expect(ms).to.be.below(1000);
      expect(() => sem.timedWait(0))
        .to.throw()
        .with.property('code', 'ETIMEDOUT');
      expect(sem.value).to.equal(0);
    } finally {
      sem.close();
    }
  });

  it('post() at SEM_VALUE_MAX throws EOVERFLOW and leaves the value alone', () => {
    const max = 2147483647;
    const sem = new Semaphore(uniqueName(), { value: max });
    try {
      expect(sem.value).to.equal(max);
      expect(() => sem.post())
        .to.throw(Semaphore.SemaphoreError)
        .with.property('code', 'EOVERFLOW');
      expect(sem.value).to.equal(max);
    } finally {
      sem.close();
    }
  });

  it('close() closes the handle only: the semaphore stays for others until unlink()', () => {
    const name = uniqueName();
    const sem = new Semaphore(name);
    expect(mappings(name)).to.equal(1);
    sem.close();
    expect(sem.closed).to.equal(true);
    expect(mappings(name)).to.equal(0);
    expect(exists(name)).to.equal(true);
    sem.close(); // a no-op
    sem.unlink(); // works on a closed handle, as Example 2 of the original README does
    expect(exists(name)).to.equal(false);
  });

  it('every call on a closed handle throws ERR_SEMAPHORE_CLOSED', () => {
    const sem = new Semaphore(uniqueName());
    sem.close();
    for (const call of [
      () => sem.wait(),
      () => sem.tryWait(),
      () => sem.timedWait(10),
      () => sem.post(),
      () => sem.value,
      () => sem.tryAcquire(),
      () => sem.release(),
    ]) {
      expect(call).to.throw(Semaphore.SemaphoreError).with.property('code', 'ERR_SEMAPHORE_CLOSED');
    }
  });

  it('unlink() removes the name; the open handle keeps working; a new open makes a new semaphore', () => {
    const name = uniqueName();
    const old = new Semaphore(name, { value: 5 });
    try {
      old.unlink();
      expect(exists(name)).to.equal(false);
      old.wait();
      expect(old.value).to.equal(4);
      const fresh = new Semaphore(name, { value: 1 });
      expect(fresh.created).to.equal(true);
      expect(fresh.value).to.equal(1);
      fresh.close();
    } finally {
      old.close();
    }
  });

  it('unlink() of a missing name throws ENOENT; static Semaphore.unlink(name) removes without opening', () => {
    const name = uniqueName();
    expect(() => Semaphore.unlink(name))
      .to.throw(Semaphore.SemaphoreError)
      .with.property('code', 'ENOENT');
    new Semaphore(name).close();
    Semaphore.unlink(name.slice(1));
    expect(exists(name)).to.equal(false);
    const sem = new Semaphore(name);
    sem.unlink();
    expect(() => sem.unlink())
      .to.throw()
      .with.property('code', 'ENOENT');
    sem.close();
  });

  it('two handles to one name in a process are one kernel object, each closed on its own', () => {
    const name = uniqueName();
    const a = new Semaphore(name, { value: 1 });
    const b = new Semaphore(name);
    expect(a.created).to.equal(true);
    expect(b.created).to.equal(false);
    expect(mappings(name)).to.equal(1); // glibc maps a name once per process
    a.wait();
    expect(() => b.tryWait())
      .to.throw()
      .with.property('code', 'EAGAIN');
    b.post();
    a.close();
    expect(mappings(name)).to.equal(1);
    b.tryWait();
    expect(b.value).to.equal(0);
    b.close();
    expect(mappings(name)).to.equal(0);
  });

  it('a /dev/shm file too small to be a semaphore is refused with EINVAL, not a crash (SIGBUS)', () => {
    const name = uniqueName('stray');
    require('node:fs').writeFileSync(`/dev/shm/sem.${name.slice(1)}`, '');
    for (const options of [{ create: false }, {}]) {
      let error;
      try {
        new Semaphore(name, options).post();
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(Semaphore.SemaphoreError);
      expect(error).to.include({ code: 'EINVAL', syscall: 'sem_open', semaphore: name });
      expect(error.message).to.match(/is not a semaphore/);
    }
  });

  it('Symbol.dispose closes the handle', () => {
    const sem = new Semaphore(uniqueName());
    expect(Symbol.dispose).to.be.a('symbol');
    sem[Symbol.dispose]();
    expect(sem.closed).to.equal(true);
  });

  it('a handle collected without close() is closed by its finaliser', async function () {
    if (typeof global.gc !== 'function') {
      const { runToEnd } = require('../support/helpers');
      const name = uniqueName();
      const { code, stdout, stderr } = await runToEnd('finaliser.js', [name], { nodeArgs: ['--expose-gc'] });
      expect(stderr).to.equal('');
      expect(code).to.equal(0);
      expect(stdout.trim().split('\n')).to.deep.equal(['mapped 1', 'mapped 0']);
      return;
    }
    this.skip();
  });
});
