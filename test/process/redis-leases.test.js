'use strict';
// RedisSemaphore against a real redis-server on 127.0.0.1, when things go
// wrong: a lease taken away or not refreshed is reported ('lost',
// onLostLease, 'error', ERR_SEMAPHORE_LEASE_LOST), never silent; fencing
// tokens; an unreachable Redis is ERR_SEMAPHORE_REDIS, not busy; keys (the
// redis-semaphore's key refused, an ioredis keyPrefix).
const { once } = require('node:events');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const Redis = require('ioredis');
const { RedisSemaphore, SemaphoreError } = require('posix-semaphore/redis');
const { failure } = require('../support/helpers');
const { redisTests, holdersKey, uniqueRedisName } = require('../support/redis');

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

describe('RedisSemaphore on a real redis-server', function () {
  const redis = redisTests();
  const { open, spawnChild } = redis;

  it("a lease taken away in Redis is reported: 'lost' event and onLostLease, with ERR_SEMAPHORE_LEASE_LOST", async () => {
    const name = uniqueRedisName('lost');
    let called;
    const sem = open(name, { leaseMs: 300, onLostLease: (err) => (called = err) });
    await sem.acquire();
    const lost = eventWithin(sem, 'lost', 3000);
    await redis.admin.del(holdersKey(name));
    const err = await lost;
    expect(err).to.be.instanceOf(SemaphoreError);
    expect(err.code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
    expect(err.semaphore).to.equal(name);
    expect(called).to.equal(err);
    // release() of the lost unit says so too, once; the unit counts as given back.
    expect(await failure(() => sem.release())).to.equal(err);
    expect(await failure(() => sem.release())).to.include({ code: 'ERR_SEMAPHORE_NOT_HELD' });
  });

  it("refreshes that fail (Redis unreachable) end in 'lost' once the lease must have run out, without crashing the process", async () => {
    const client = new Redis(redis.url);
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
      expect(await failure(() => sem.release())).to.equal(err);
      // And an acquire or tryAcquire on the broken connection rejects with the Redis error.
      const tried = await failure(() => sem.tryAcquire());
      expect(tried).to.include({ code: 'ERR_SEMAPHORE_REDIS' });
      expect(tried.cause.message).to.match(/Connection is closed/);
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
    const holder = spawnChild('redis-hold.js', [redis.url, name, '300']);
    await holder.line(/^held$/);
    await redis.admin.del(holdersKey(name));
    const { code, stderr } = await holder.done;
    expect(code).to.equal(1);
    expect(stderr).to.match(/ERR_SEMAPHORE_LEASE_LOST/);
  });

  it("with an 'error' listener and no 'lost' listener, the lost lease is an 'error' event", async () => {
    const name = uniqueRedisName('lost-error');
    const sem = open(name, { leaseMs: 300 });
    await sem.acquire();
    const error = eventWithin(sem, 'error', 3000);
    await redis.admin.del(holdersKey(name));
    expect((await error).code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
  });

  it("withLock(): a lease found lost at release rejects ERR_SEMAPHORE_LEASE_LOST though fn succeeded; if fn threw, fn's error wins and the loss goes to 'lost'", async () => {
    const name = uniqueRedisName('withlock-lost');
    const sem = open(name);
    const events = [];
    sem.on('lost', (err) => events.push(err));
    const lost = await failure(sem.withLock(() => redis.admin.del(holdersKey(name))));
    expect(lost).to.include({ code: 'ERR_SEMAPHORE_LEASE_LOST', syscall: 'release' });
    const boom = new Error('boom');
    const thrown = await failure(
      sem.withLock(async () => {
        await redis.admin.del(holdersKey(name));
        throw boom;
      }),
    );
    expect(thrown).to.equal(boom);
    await sleep(10); // 'lost' is emitted on a tick of its own
    expect(events.map((e) => e.code)).to.deep.equal(['ERR_SEMAPHORE_LEASE_LOST']);
    expect(await sem.tryAcquire(), 'nothing left taken').to.equal(true);
  });

  it('every grant carries a fencing token that grows across instances: token, withLock(fn(token))', async () => {
    const name = uniqueRedisName('token');
    const a = open(name, { value: 2 });
    const b = open(name, { value: 2 });
    expect(a.token).to.equal(undefined);
    await a.acquire();
    const first = a.token;
    expect(first).to.be.a('number');
    expect(await b.tryAcquire()).to.equal(true);
    expect(b.token).to.be.above(first);
    await a.acquire({ timeout: 0 }).catch(() => undefined); // full: takes nothing, changes nothing
    expect(a.token).to.equal(first);
    await a.release();
    expect(a.token).to.equal(undefined);
    const seen = await b.withLock((token) => token); // b holds two now, this one newest
    expect(seen).to.be.above(b.token);
    expect(b.token).to.be.above(first);
    await b.release();
    // A new instance, after every unit was given back: still larger.
    const c = open(name);
    await c.withLock((token) => expect(token).to.be.above(seen));
  });

  it("tryAcquire() with Redis unreachable rejects ERR_SEMAPHORE_REDIS with the client's error as cause (not false: it is not busy)", async () => {
    const client = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    client.on('error', () => undefined);
    const sem = new RedisSemaphore(uniqueRedisName('unreachable-try'), { client });
    try {
      const err = await failure(() => sem.tryAcquire());
      expect(err).to.be.instanceOf(SemaphoreError);
      expect(err.code).to.equal('ERR_SEMAPHORE_REDIS');
      expect(err.cause).to.be.instanceOf(Error);
      expect(err.message).to.include(err.cause.message);
      const acquired = await failure(() => sem.acquire({ timeout: 1000 }));
      expect(acquired).to.include({ code: 'ERR_SEMAPHORE_REDIS' });
      expect(acquired.cause).to.be.instanceOf(Error);
    } finally {
      await sem.close();
      client.disconnect();
    }
  });

  it('acquire({ timeout }) while Redis cannot be reached rejects ERR_SEMAPHORE_REDIS with the connection error as cause, not ETIMEDOUT (busy)', async () => {
    const sem = new RedisSemaphore(uniqueRedisName('unreachable-timeout'), { url: 'redis://127.0.0.1:1' });
    try {
      const start = Date.now();
      const err = await failure(() => sem.acquire({ timeout: 500 }));
      expect(Date.now() - start).to.be.below(3000);
      expect(err).to.be.instanceOf(SemaphoreError);
      expect(err.code).to.equal('ERR_SEMAPHORE_REDIS');
      expect(err.cause).to.be.instanceOf(Error);
      expect(err.cause.code).to.equal('ECONNREFUSED');
    } finally {
      const start = Date.now();
      await sem.close();
      expect(Date.now() - start, 'close() does not wait for ioredis to give up').to.be.below(1000);
    }
  });

  it("a name still in use through redis-semaphore's key (semaphore:NAME) is refused loudly, not shared unawares", async () => {
    const name = uniqueRedisName('legacy');
    await redis.admin.zadd(`semaphore:${name}`, Date.now(), 'an-old-holder');
    const sem = open(name);
    const err = await failure(() => sem.tryAcquire());
    expect(err).to.include({ code: 'ERR_SEMAPHORE_REDIS' });
    expect(err.message).to.match(/by redis-semaphore/);
    await redis.admin.del(`semaphore:${name}`);
    expect(await sem.tryAcquire()).to.equal(true);
  });

  it('an ioredis keyPrefix prefixes every key', async () => {
    const name = uniqueRedisName('prefix');
    const client = new Redis(redis.url, { keyPrefix: 'app:' });
    const sem = new RedisSemaphore(name, { client });
    try {
      await sem.acquire();
      expect(await redis.admin.zcard(`app:${holdersKey(name)}`)).to.equal(1);
      expect(await redis.admin.get(`app:{semaphore:${name}}:token`)).to.equal(String(sem.token));
      await sem.release();
    } finally {
      await sem.close();
      client.disconnect();
    }
  });
});
