'use strict';
// RedisSemaphore against a real redis-server on 127.0.0.1: real processes
// sharing it, units held per instance and given back in order, leases that
// outlive a SIGKILLed holder, close(). Lost leases and an unreachable Redis
// are in redis-leases.test.js, a stalled server and skewed clocks in
// redis-clock.test.js; what it shares with the POSIX class in
// test/api/contract.test.js.
const fs = require('node:fs');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const Redis = require('ioredis');
const { RedisSemaphore, SemaphoreError } = require('posix-semaphore/redis');
const { failure } = require('../support/helpers');
const { redisTests, holdersKey, uniqueRedisName } = require('../support/redis');

describe('RedisSemaphore on a real redis-server', function () {
  const redis = redisTests();
  const { open, spawnChild, counterFile } = redis;

  it('4 processes × 25 increments of a shared counter file under one RedisSemaphore lose no update', async () => {
    const name = uniqueRedisName('counter');
    const file = counterFile();
    const results = await Promise.all([0, 1, 2, 3].map(() => spawnChild('redis-counter.js', [redis.url, name, file, '25']).done));
    for (const { code, stderr } of results) expect(code, stderr).to.equal(0);
    expect(Number(fs.readFileSync(file, 'utf8'))).to.equal(100);
  });

  it('value: 2 admits exactly 2 holders at once across 4 processes', async () => {
    const name = uniqueRedisName('holders');
    const counterKey = `${name}-inside`;
    const results = await Promise.all([0, 1, 2, 3].map(() => spawnChild('redis-holders.js', [redis.url, name, '2', '6', '40', counterKey]).done));
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
    const members = () => redis.admin.zrange(holdersKey(name), 0, -1);
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
    const holder = spawnChild('redis-hold.js', [redis.url, name, String(leaseMs)]);
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
    const child = spawnChild('redis-hold.js', [redis.url, name, '10000', 'close']);
    const { code, stdout, stderr } = await child.done;
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/closed/);
    const sem = open(name, { value: 2 });
    expect(await sem.tryAcquire()).to.equal(true);
    expect(await sem.tryAcquire()).to.equal(true);
  });

  it('close() leaves open a client it was given', async () => {
    const client = new Redis(redis.url);
    try {
      const sem = new RedisSemaphore(uniqueRedisName('client'), { client });
      await sem.acquire();
      await sem.close();
      expect(await client.ping()).to.equal('PONG');
    } finally {
      client.disconnect();
    }
  });
});
