'use strict';
// Semaphore.unlink(name, { force: true }), and option names the API does not
// know: one process warning per name (POSIX_SEMAPHORE_UNKNOWN_OPTION), never
// a throw, the call going on as if the name were absent.
const { execFileSync } = require('node:child_process');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists } = require('../support/helpers');

const CODE = 'POSIX_SEMAPHORE_UNKNOWN_OPTION';

/** The POSIX_SEMAPHORE_UNKNOWN_OPTION warnings emitted while `fn` runs (and its promise settles). */
async function warningsOf(fn) {
  const seen = [];
  const listener = (w) => {
    if (w.code === CODE) seen.push(w);
  };
  process.on('warning', listener);
  try {
    await fn();
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.removeListener('warning', listener);
  }
  return seen;
}

// Each test misspells with a key of its own: the warnings are once per process.
let n = 0;
const fresh = (base) => `${base}${n++}`;

describe('Semaphore.unlink(name, { force })', function () {
  afterEach(unlinkAll);

  it('force: true accepts a missing name; without it, ENOENT as before', function () {
    const name = uniqueName('force');
    expect(() => Semaphore.unlink(name, { force: true })).not.to.throw();
    expect(() => Semaphore.unlink(name))
      .to.throw()
      .with.property('code', 'ENOENT');
    expect(() => Semaphore.unlink(name, { force: false }))
      .to.throw()
      .with.property('code', 'ENOENT');
    new Semaphore(name).close();
    Semaphore.unlink(name, { force: true });
    expect(exists(name)).to.equal(false);
  });

  it('checks its options: force must be a boolean; a bad name still throws', function () {
    expect(() => Semaphore.unlink(uniqueName('f'), { force: 1 }))
      .to.throw(TypeError)
      .with.property('code', 'ERR_INVALID_ARG_TYPE');
    expect(() => Semaphore.unlink(uniqueName('f'), 'force'))
      .to.throw(TypeError)
      .with.property('code', 'ERR_INVALID_ARG_TYPE');
    expect(() => Semaphore.unlink('a/b', { force: true }))
      .to.throw()
      .with.property('code', 'ERR_INVALID_ARG_VALUE');
  });
});

describe('unknown option names', function () {
  afterEach(unlinkAll);

  it('new Semaphore(name, { valeu: 3 }): one warning naming the key and the likely one; the option is ignored', async function () {
    const key = fresh('valeu');
    let sem;
    const warnings = await warningsOf(() => {
      sem = new Semaphore(uniqueName('ctor'), { [key]: 3 });
    });
    try {
      expect(warnings).to.have.length(1);
      expect(warnings[0].name).to.equal('Warning');
      expect(warnings[0].message).to.include(`'${key}'`).and.include('new Semaphore()');
      expect(sem.value).to.equal(1); // the default: valeu was not taken for value
    } finally {
      sem.close();
    }
  });

  it("suggests the nearest known name (valeu: 'value', timout: 'timeout'), in a fresh process", function () {
    // A process of its own: these exact misspellings are warned once per process.
    const name = uniqueName('hint');
    const script = `
      const Semaphore = require(${JSON.stringify(require.resolve('../..'))});
      const seen = [];
      process.on('warning', (w) => seen.push([w.code, w.message]));
      const sem = new Semaphore(${JSON.stringify(name)}, { valeu: 1 });
      sem.withLock(() => {}, { timout: 1 }).then(() => {
        sem.close();
        Semaphore.unlink(sem.name);
        setImmediate(() => console.log(JSON.stringify(seen)));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(JSON.parse(out)).to.deep.equal([
      [CODE, "posix-semaphore: unknown option 'valeu' of new Semaphore(), ignored; did you mean 'value'?"],
      [CODE, "posix-semaphore: unknown option 'timout' of acquire()/withLock(), ignored; did you mean 'timeout'?"],
    ]);
  });

  it('acquire({ timout }) warns once per key however often it is passed, and waits as if no timeout were given', async function () {
    const sem = new Semaphore(uniqueName('acquire'), { value: 0 });
    const key = fresh('timout');
    try {
      const warnings = await warningsOf(async () => {
        setTimeout(() => sem.post(), 50);
        await sem.acquire({ [key]: 10 }); // no timeout: resolved by the post, not rejected after 10 ms
        sem.post();
        await sem.acquire({ [key]: 10 });
        sem.post();
        await sem.withLock(() => {}, { [key]: 10, signal: undefined });
        expect(sem.tryAcquire()).to.equal(true);
      });
      expect(warnings.map((w) => w.message)).to.have.length(1);
      expect(warnings[0].message).to.include(`'${key}'`).and.include('acquire()/withLock()');
    } finally {
      sem.close();
    }
  });

  it('known names, undefined and null options warn nothing; a bad value of a known name still throws', async function () {
    const name = uniqueName('known');
    const warnings = await warningsOf(async () => {
      const sem = new Semaphore(name, {
        create: true,
        exclusive: false,
        value: 1,
        mode: 0o600,
        retryOnEintr: false,
        debug: false,
        closeOnExit: true,
        releaseOnExit: false,
        robust: false,
        trustedUsers: [],
        trustedGroups: [],
      });
      await sem.acquire({ timeout: 1000, signal: new AbortController().signal });
      sem.release();
      await sem.acquire(undefined);
      sem.release();
      await sem.withLock(() => {}, null);
      sem.close();
      new Semaphore(name, undefined).close();
    });
    expect(warnings).to.deep.equal([]);
    expect(() => new Semaphore(name, { value: -1, [fresh('extra')]: 1 })).to.throw(RangeError);
  });
});
