'use strict';
// RedisSemaphore against a real redis-server on 127.0.0.1: real processes
// sharing it, leases that outlive a SIGKILLed holder, lost leases reported.
// (What it shares with the POSIX class is in contract.test.js.)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const Redis = require('ioredis');
const Semaphore = require('posix-semaphore');
const { RedisSemaphore, SemaphoreError } = require('posix-semaphore/redis');
const { run, runToEnd, FIXTURES, failure } = require('./helpers');
const { useRedis, doneWithRedis, cleanKeys, uniqueRedisName, SKIP_MESSAGE } = require('./fixtures/redis-server');

const ROOT = path.join(__dirname, '..');

/** Resolves with the first `event` of `emitter`, or rejects after `ms`. */
function eventWithin(emitter, event, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no '${event}' event in ${ms} ms`)), ms);
  return once(emitter, event, { signal: controller.signal }).then(
    ([value]) => {
      clearTimeout(timer);
      return value;
    },
    (err) => {
      throw controller.signal.reason ?? err;
    },
  );
}

describe('posix-semaphore/redis: the entry', () => {
  let tmp;
  afterEach(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('exports RedisSemaphore, SemaphoreError and AbortError (the same classes as the main entry), loading neither the addon nor ioredis', async () => {
    const { code, stdout, stderr } = await runToEnd('redis-entry.js');
    expect(code, stderr).to.equal(0);
    const out = JSON.parse(stdout);
    expect(out.exports).to.deep.equal(['AbortError', 'RedisSemaphore', 'SemaphoreError']);
    expect(out.loaded).to.deep.equal([]);
    const entry = require('posix-semaphore/redis');
    expect(entry.SemaphoreError).to.equal(Semaphore.SemaphoreError);
    expect(entry.AbortError).to.equal(Semaphore.AbortError);
    expect(entry.RedisSemaphore).to.equal(RedisSemaphore);
  });

  it('installed without ioredis, redis-semaphore or the addon: the entry loads, and the constructor says what to install', async () => {
    // A project holding only the package's package.json and dist/: no build/,
    // no prebuilds/, no peers.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-entry-'));
    const pkg = path.join(tmp, 'node_modules', 'posix-semaphore');
    fs.mkdirSync(pkg, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'redis-entry.js'), path.join(tmp, 'redis-entry.js'));
    const { code, stdout, stderr } = await runToEnd(path.join(tmp, 'redis-entry.js'), ['construct'], { cwd: tmp });
    expect(code, stderr).to.equal(0);
    const out = JSON.parse(stdout);
    expect(out.exports).to.include('RedisSemaphore');
    expect(out.error.code).to.equal('MODULE_NOT_FOUND');
    expect(out.error.message).to.match(/needs the package '(ioredis|redis-semaphore)'.*npm install ioredis redis-semaphore/);
  });

  it('checks its arguments before touching Redis', () => {
    const codeOf = (fn) => {
      try {
        fn();
      } catch (err) {
        return `${err.constructor.name} ${err.code}`;
      }
      return 'no error';
    };
    const make = (name, options) => () => new RedisSemaphore(name, options);
    expect(codeOf(make(42))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make(''))).to.equal('TypeError ERR_INVALID_ARG_VALUE');
    expect(codeOf(make('x', 'redis://'))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { url: 6379 }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { client: {} }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { value: 0 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { value: 1.5 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { value: '2' }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { leaseMs: 5 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { leaseMs: 1000, refreshMs: 1000 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { retryMs: 0 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { onLostLease: 'log' }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { debug: 1 }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
  });
});

describe('RedisSemaphore on a real redis-server', function () {
  let url;
  let admin; // a client of the test's own, to look at and break the keys
  const sems = [];
  const children = [];
  let tmp;

  const open = (name, options = {}) => {
    const sem = new RedisSemaphore(name, { url, ...options });
    sems.push(sem);
    return sem;
  };
  const spawnChild = (script, args) => {
    const child = run(script, args);
    children.push(child);
    return child;
  };
  const counterFile = () => {
    tmp ??= fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-'));
    const file = path.join(tmp, `counter-${children.length}`);
    fs.writeFileSync(file, '0');
    return file;
  };

  before(async function () {
    url = await useRedis();
    if (url === undefined) {
      console.log(`      skipped: ${SKIP_MESSAGE}`);
      this.skip();
    }
    admin = new Redis(url);
  });
  after(async () => {
    if (admin) admin.disconnect();
    if (url !== undefined) await doneWithRedis();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await child.done;
    }
    for (const sem of sems.splice(0)) await sem.close();
    await cleanKeys(url);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('4 processes × 25 increments of a shared counter file under one RedisSemaphore lose no update', async () => {
    const name = uniqueRedisName('counter');
    const file = counterFile();
    const results = await Promise.all([0, 1, 2, 3].map(() => spawnChild('redis-counter.js', [url, name, file, '25']).done));
    for (const { code, stderr } of results) expect(code, stderr).to.equal(0);
    expect(Number(fs.readFileSync(file, 'utf8'))).to.equal(100);
  });

  it('value: 2 admits exactly 2 holders at once across 4 processes', async () => {
    const name = uniqueRedisName('holders');
    const counterKey = `${name}-inside`;
    const results = await Promise.all([0, 1, 2, 3].map(() => spawnChild('redis-holders.js', [url, name, '2', '6', '40', counterKey]).done));
    const maxima = results.map(({ code, stdout, stderr }) => {
      expect(code, stderr).to.equal(0);
      return Number(/max (\d+)/.exec(stdout)[1]);
    });
    expect(Math.max(...maxima)).to.equal(2);
  });

  it('value: 3 on one instance: its acquire() calls hold up to 3 units at once', async () => {
    const sem = open(uniqueRedisName('one-instance'), { value: 3 });
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        sem.withLock(async () => {
          max = Math.max(max, ++inside);
          await sleep(30);
          inside--;
        }),
      ),
    );
    expect(max).to.equal(3);
  });

  it('release() gives back the oldest unit the instance holds; with none held it rejects ERR_SEMAPHORE_NOT_HELD', async () => {
    const name = uniqueRedisName('fifo-release');
    const sem = open(name, { value: 3 });
    const members = () => admin.zrange(`semaphore:${name}`, 0, -1);
    await sem.acquire();
    const [first] = await members();
    await sem.acquire();
    const second = (await members()).find((m) => m !== first);
    await sem.release();
    expect(await members()).to.deep.equal([second]);
    await sem.release();
    expect(await members()).to.deep.equal([]);
    const err = await failure(() => sem.release());
    expect(err).to.be.instanceOf(SemaphoreError);
    expect(err.code).to.equal('ERR_SEMAPHORE_NOT_HELD');
  });

  it('a live holder keeps its unit past leaseMs; a SIGKILLed one frees it once the lease runs out', async () => {
    const name = uniqueRedisName('sigkill');
    const leaseMs = 1000;
    const holder = spawnChild('redis-hold.js', [url, name, String(leaseMs)]);
    await holder.line(/^held$/);
    const sem = open(name);
    await sleep(1500); // longer than the lease: refreshed while alive
    expect(await sem.tryAcquire()).to.equal(false);
    holder.kill('SIGKILL');
    const { signal } = await holder.done;
    expect(signal).to.equal('SIGKILL');
    const killed = Date.now();
    expect(await sem.tryAcquire()).to.equal(false); // not at once: the lease still runs
    await sem.acquire({ timeout: 5000 });
    expect(Date.now() - killed).to.be.below(leaseMs + 1000);
  });

  it('close() gives back the units it holds and closes the connection it opened, so the process ends by itself', async () => {
    const name = uniqueRedisName('close');
    const child = spawnChild('redis-hold.js', [url, name, '10000', 'close']);
    const { code, stdout, stderr } = await child.done;
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/closed/);
    const sem = open(name, { value: 2 });
    expect(await sem.tryAcquire()).to.equal(true);
    expect(await sem.tryAcquire()).to.equal(true);
  });

  it('close() leaves open a client it was given', async () => {
    const client = new Redis(url);
    try {
      const sem = new RedisSemaphore(uniqueRedisName('client'), { client });
      await sem.acquire();
      await sem.close();
      expect(await client.ping()).to.equal('PONG');
    } finally {
      client.disconnect();
    }
  });

  it("a lease taken away in Redis is reported: 'lost' event and onLostLease, with ERR_SEMAPHORE_LEASE_LOST", async () => {
    const name = uniqueRedisName('lost');
    let called;
    const sem = open(name, { leaseMs: 300, onLostLease: (err) => (called = err) });
    await sem.acquire();
    const lost = eventWithin(sem, 'lost', 3000);
    await admin.del(`semaphore:${name}`);
    const err = await lost;
    expect(err).to.be.instanceOf(SemaphoreError);
    expect(err.code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
    expect(err.semaphore).to.equal(name);
    expect(called).to.equal(err);
    await sem.release(); // the lost unit: nothing to give back, no error
    expect(await failure(() => sem.release())).to.include({ code: 'ERR_SEMAPHORE_NOT_HELD' });
  });

  it("refreshes that fail (Redis unreachable) end in 'lost' once the lease must have run out, without crashing the process", async () => {
    const client = new Redis(url);
    const sem = new RedisSemaphore(uniqueRedisName('unreachable'), { client, leaseMs: 400 });
    try {
      await sem.acquire();
      const start = Date.now();
      const lost = eventWithin(sem, 'lost', 5000);
      client.disconnect(); // every command now fails: "Connection is closed."
      const err = await lost;
      expect(err.code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
      expect(err.cause).to.be.instanceOf(Error);
      expect(err.cause.message).to.match(/Connection is closed/);
      expect(Date.now() - start).to.be.within(200, 3000);
      // And an acquire on the broken connection rejects with the Redis error.
      await sem.release();
      const failed = await failure(sem.acquire({ timeout: 2000 }));
      expect(failed).to.be.instanceOf(SemaphoreError);
      expect(failed.code).to.equal('ERR_SEMAPHORE_REDIS');
      expect(failed.cause.message).to.match(/Connection is closed/);
    } finally {
      await sem.close();
    }
  });

  it("a lost lease that nobody listens to ('lost' or 'error') ends the process, as an unhandled 'error' event does", async () => {
    const name = uniqueRedisName('lost-unheard');
    const holder = spawnChild('redis-hold.js', [url, name, '300']);
    await holder.line(/^held$/);
    await admin.del(`semaphore:${name}`);
    const { code, stderr } = await holder.done;
    expect(code).to.equal(1);
    expect(stderr).to.match(/ERR_SEMAPHORE_LEASE_LOST/);
  });

  it("with an 'error' listener and no 'lost' listener, the lost lease is an 'error' event", async () => {
    const name = uniqueRedisName('lost-error');
    const sem = open(name, { leaseMs: 300 });
    await sem.acquire();
    const error = eventWithin(sem, 'error', 3000);
    await admin.del(`semaphore:${name}`);
    expect((await error).code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
  });
});
