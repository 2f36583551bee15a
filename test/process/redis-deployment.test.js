'use strict';
// RedisSemaphore as real deployments run it (issue 22): a Redis restarted
// without persistence, a secret in the URL, a withLock() whose lease is lost
// while Redis stalls, a Redis that is down, an APM tool subscribed to the
// tracing channel. On a redis-server of this file's own (it restarts and
// stops it).
const diagnostics = require('node:diagnostics_channel');
const util = require('node:util');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const Redis = require('ioredis');
const { RedisSemaphore } = require('posix-semaphore/redis');
const { run } = require('../support/helpers');
const { cleanKeys, uniqueRedisName } = require('../support/redis');
const { startRedis, redisServerPath, freePort } = require('../../scripts/lib/redis-server');

describe('RedisSemaphore on real deployments', function () {
  this.timeout(60_000);
  let redis;
  const sems = [];
  const open = (name, options) => {
    const sem = new RedisSemaphore(name, { url: redis.url, ...options });
    sems.push(sem);
    return sem;
  };

  before(async function () {
    if (!redisServerPath()) {
      if (process.env.CI) throw new Error('CI is set but redis-server is not on PATH (these tests start, restart and stop their own)');
      console.log('      skipped: these tests start, restart and stop a redis-server of their own: put redis-server on PATH');
      this.skip();
    }
    redis = await startRedis();
  });
  after(async () => {
    if (redis) await redis.stop();
  });
  afterEach(async () => {
    process.kill(redis.pid, 'SIGCONT'); // a failed test may leave it stopped
    for (const sem of sems.splice(0)) await sem.close();
    await cleanKeys(redis.url);
  });

  it('fencing tokens go up across a restart of Redis without persistence (the counter is gone): the next grant is larger than the last one held', async () => {
    const name = uniqueRedisName('restart');
    const a = open(name, { leaseMs: 2000 });
    const lost = new Promise((resolve) => a.once('lost', resolve));
    for (let i = 0; i < 5; i++) {
      await a.acquire();
      await a.release();
    }
    await a.acquire();
    const held = a.token;
    const port = redis.port;
    await redis.kill();
    redis = await startRedis({ port });
    const b = open(name);
    await b.acquire({ timeout: 10_000 });
    console.log(`      figures: last token before the restart ${held}, first after ${b.token} (${((b.token - held) / 1000).toFixed(0)} ms above)`);
    expect(b.token).to.be.above(held);
    expect((await lost).code, "A hears 'lost' at its next renewal").to.equal('ERR_SEMAPHORE_LEASE_LOST');
  });

  it("a token is the server's TIME in µs while grants come slower than one a µs: measured over 2000 grants", async () => {
    const name = uniqueRedisName('time');
    const sem = open(name);
    const admin = new Redis(redis.url);
    try {
      const micros = async () => {
        const [s, us] = await admin.time();
        return Number(s) * 1e6 + Number(us);
      };
      const before = await micros();
      let ahead = -Infinity;
      let last = 0;
      for (let i = 0; i < 2000; i++) {
        await sem.acquire();
        expect(sem.token).to.be.above(last);
        last = sem.token;
        await sem.release();
      }
      const after = await micros();
      ahead = last - after;
      console.log(`      figures: 2000 grants; the last token ${ahead > 0 ? `${ahead} µs ahead of` : `${-ahead} µs behind`} the server's clock`);
      expect(last).to.be.within(before, after);
      expect(Number.isSafeInteger(last)).to.equal(true);
    } finally {
      admin.disconnect();
    }
  });

  it('util.inspect, console.log and JSON.stringify show { name, value, pending, held, closed }: never the URL, its password or the client', async () => {
    const secret = 'hunter2-s3cret';
    const sem = new RedisSemaphore(uniqueRedisName('inspect'), { url: `redis://user:${secret}@127.0.0.1:1`, value: 2 });
    sems.push(sem);
    const show = (value, options) => util.inspect(value, { breakLength: Infinity, ...options });
    expect(show(sem)).to.equal(`RedisSemaphore { name: '${sem.name}', value: 2, pending: 0, held: 0, closed: false }`);
    expect(show({ deep: { deeper: { sem } } })).to.equal('{ deep: { deeper: { sem: [RedisSemaphore] } } }');
    for (const options of [{ depth: Infinity }, { depth: Infinity, showHidden: true }, { getters: true, depth: Infinity }]) {
      expect(show({ sem }, options)).to.not.include(secret);
    }
    expect(util.format('%o', sem)).to.not.include(secret);
    expect(JSON.parse(JSON.stringify(sem))).to.deep.equal({ name: sem.name, value: 2, pending: 0, held: 0, closed: false });
    const waiting = sem.acquire({ timeout: 100 }).catch((err) => err);
    expect(sem.pending).to.equal(1);
    const err = await waiting;
    expect(show(err, { depth: Infinity })).to.not.include(secret);
    await sem.close();
    expect(JSON.parse(JSON.stringify(sem))).to.include({ pending: 0, held: 0, closed: true });
    // Holding: held counts the units.
    const mine = open(uniqueRedisName('held'), { value: 2 });
    await mine.acquire();
    await mine.acquire();
    expect(show(mine)).to.equal(`RedisSemaphore { name: '${mine.name}', value: 2, pending: 0, held: 2, closed: false }`);
  });

  it("withLock(fn).catch() with no 'lost' listener, Redis stalled: fn's signal aborts within the lease and withLock rejects ERR_SEMAPHORE_LEASE_LOST; no unhandled 'error' ends the process", async () => {
    const name = uniqueRedisName('withlock-stall');
    const child = run('redis-withlock-lost.js', [redis.url, name]);
    try {
      await child.line(/^held$/);
      process.kill(redis.pid, 'SIGSTOP');
      const line = await Promise.race([child.line(/rejected/), child.done.then(({ code, stderr }) => `exited ${code}: ${stderr}`)]);
      process.kill(redis.pid, 'SIGCONT');
      const { code, stderr } = await child.done;
      expect(stderr).to.not.match(/Unhandled 'error' event/);
      expect(code, line).to.equal(0);
      const result = JSON.parse(line);
      expect(result).to.include({ aborted: true, rejected: 'ERR_SEMAPHORE_LEASE_LOST' });
      expect(result.abortedAfterMs, 'within the lease (600 ms), with room for a loaded machine').to.be.below(600 + 300);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
      if (child.exitCode === null) child.kill('SIGKILL');
      await child.done;
    }
  });

  it('Redis down: tryAcquire() and an untimed acquire() reject ERR_SEMAPHORE_REDIS within connectTimeoutMs (1 s), acquire({ timeout }) on time, and after close() the process ends at once', async () => {
    const { code, stdout, stderr } = await run('redis-unreachable.js', ['redis://127.0.0.1:1']).done;
    expect(code, stderr).to.equal(0);
    const [json, exit] = stdout.trim().split('\n');
    const result = JSON.parse(json);
    console.log(`      figures: ${json}, ${exit} ms`);
    expect(result.tryAcquire.code).to.equal('ERR_SEMAPHORE_REDIS');
    expect(result.tryAcquire.ms).to.be.below(2500);
    expect(result.timed.code).to.equal('ERR_SEMAPHORE_REDIS');
    expect(result.timed.ms).to.be.within(250, 1500);
    expect(result.untimed.code).to.equal('ERR_SEMAPHORE_REDIS');
    expect(result.untimed.ms).to.be.below(2500);
    expect(Number(/^exit (\d+)/.exec(exit)[1]), 'ms from close() to the exit').to.be.below(1000);
  });

  it('a try that gave up on a Redis that was down, and still runs when Redis comes back, gives its unit back at once', async () => {
    const port = await freePort();
    const name = uniqueRedisName('late');
    const sem = new RedisSemaphore(name, { url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300, leaseMs: 60_000 });
    sems.push(sem);
    const err = await sem.tryAcquire().catch((e) => e);
    expect(err.code).to.equal('ERR_SEMAPHORE_REDIS');
    expect(err.message).to.match(/connectTimeoutMs \(300 ms\)/);
    const late = await startRedis({ port }); // ioredis reconnects and runs the queued try
    const admin = new Redis(late.url);
    try {
      const deadline = Date.now() + 10_000;
      while ((await admin.get(`{semaphore:${name}}:token`)) === null && Date.now() < deadline) await sleep(20);
      expect(await admin.get(`{semaphore:${name}}:token`), 'the queued try ran').to.not.equal(null);
      while ((await admin.zcard(`{semaphore:${name}}:holders`)) > 0 && Date.now() < deadline) await sleep(20);
      expect(await admin.zcard(`{semaphore:${name}}:holders`), 'and its unit was given back (its lease: 60 s)').to.equal(0);
      expect(sem.held).to.equal(0);
    } finally {
      admin.disconnect();
      await sem.close();
      await late.stop();
    }
  });

  it('connectTimeoutMs: a bad value is refused before any Redis call', () => {
    for (const bad of [0, -1, 1.5, 'soon']) {
      expect(() => new RedisSemaphore('x', { url: redis.url, connectTimeoutMs: bad }))
        .to.throw()
        .with.property('code')
        .that.matches(/^ERR_(OUT_OF_RANGE|INVALID_ARG_TYPE)$/);
    }
  });

  it("posix-semaphore:acquire traces RedisSemaphore's acquire(), withLock() and tryAcquire() with the fencing token", async () => {
    const name = uniqueRedisName('trace');
    const a = open(name);
    const b = open(name);
    const events = [];
    const channel = diagnostics.tracingChannel('posix-semaphore:acquire');
    const handlers = Object.fromEntries(
      ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((event) => [
        event,
        (ctx) => events.push({ event, semaphore: ctx.semaphore, operation: ctx.operation, outcome: ctx.outcome, token: ctx.token, ctx }),
      ]),
    );
    channel.subscribe(handlers);
    try {
      await a.acquire();
      const acquired = a.token;
      expect(await b.tryAcquire()).to.equal(false);
      await b.acquire({ timeout: 50 }).catch(() => undefined);
      await a.release();
      const inside = await b.withLock((token) => token);
      const ends = events.filter((e) => e.event === 'asyncEnd');
      expect(ends.map((e) => [e.operation, e.outcome])).to.deep.equal([
        ['acquire', 'acquired'],
        ['tryAcquire', 'busy'],
        ['acquire', 'timeout'],
        ['acquire', 'acquired'],
      ]);
      expect(ends.map((e) => e.token)).to.deep.equal([acquired, undefined, undefined, inside]);
      expect(ends.every((e) => e.semaphore === name && typeof e.ctx.waitedMs === 'number')).to.equal(true);
      expect(events.filter((e) => e.event === 'start')).to.have.length(4);
      expect(events.filter((e) => e.event === 'error').map((e) => e.ctx.error.code)).to.deep.equal(['ETIMEDOUT']);
    } finally {
      channel.unsubscribe(handlers);
    }
  });
});
