'use strict';
// The Redis side of the tests' helpers. A real redis-server on 127.0.0.1 —
// POSIX_SEMAPHORE_REDIS_URL when set (.ci/run starts one), else one started
// here (scripts/lib/redis-server.js, on a free port) when redis-server is on
// PATH, stopped by PID when the last test file that asked for it is done.
// Keys are `semaphore:psem-test-PID-N-label`, deleted after each test.
const { startRedis, redisServerPath } = require('../../scripts/lib/redis-server');

const KEY_PREFIX = `psem-test-${process.pid}-`;
const SKIP_MESSAGE = 'no Redis: set POSIX_SEMAPHORE_REDIS_URL or put redis-server on PATH (.ci/run does)';
let counter = 0;
let server; // a promise of startRedis()'s server while started here
let users = 0;

/** A semaphore name unique to this run, removed from Redis by cleanKeys(). */
function uniqueRedisName(label = 'sem') {
  return `${KEY_PREFIX}${counter++}-${label}`;
}

/**
 * The URL of a Redis server for a test file's before-hook, or undefined
 * when there is none (no POSIX_SEMAPHORE_REDIS_URL, no redis-server).
 */
async function useRedis() {
  if (process.env.POSIX_SEMAPHORE_REDIS_URL) return process.env.POSIX_SEMAPHORE_REDIS_URL;
  if (!redisServerPath()) {
    // CI must run these tests, not skip them.
    if (process.env.CI) throw new Error(`CI is set but there is ${SKIP_MESSAGE}`);
    return undefined;
  }
  users++;
  if (server === undefined) server = startRedis();
  return (await server).url;
}

/** The after-hook's half of useRedis(): stops the server when nobody uses it. */
async function doneWithRedis() {
  if (process.env.POSIX_SEMAPHORE_REDIS_URL || server === undefined) return;
  if (--users > 0) return;
  const started = await server;
  server = undefined;
  await started.stop();
}

/** Deletes every key of this run (after each test). */
async function cleanKeys(url) {
  const Redis = require('ioredis');
  const client = new Redis(url);
  try {
    const keys = [];
    for await (const batch of client.scanStream({ match: `*${KEY_PREFIX}*`, count: 500 })) keys.push(...batch);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

/**
 * Call inside a describe() of tests against the shared Redis: before, finds
 * it (useRedis(), or skips the block saying why); after each test, kills the
 * children started with spawnChild(), closes the semaphores made with
 * open(), deletes this run's keys and the files of counterFile(). Returns
 * { url, admin (an ioredis client of the tests' own, to look at and break
 * the keys), open(name, options), spawnChild(script, args), counterFile() }.
 */
function redisTests() {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { run } = require('./helpers');
  const sems = [];
  const children = [];
  let tmp;
  const ctx = {
    url: undefined,
    admin: undefined,
    open(name, options = {}) {
      const { RedisSemaphore } = require('posix-semaphore/redis');
      const sem = new RedisSemaphore(name, { url: ctx.url, ...options });
      sems.push(sem);
      return sem;
    },
    spawnChild(script, args) {
      const child = run(script, args);
      children.push(child);
      return child;
    },
    /** A file holding '0' for a shared counter. */
    counterFile() {
      tmp ??= fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-'));
      const file = path.join(tmp, `counter-${children.length}`);
      fs.writeFileSync(file, '0');
      return file;
    },
  };
  before(async function () {
    ctx.url = await useRedis();
    if (ctx.url === undefined) {
      console.log(`      skipped: ${SKIP_MESSAGE}`);
      this.skip();
    }
    const Redis = require('ioredis');
    ctx.admin = new Redis(ctx.url);
  });
  after(async () => {
    if (ctx.admin) ctx.admin.disconnect();
    if (ctx.url !== undefined) await doneWithRedis();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await child.done;
    }
    for (const sem of sems.splice(0)) await sem.close();
    await cleanKeys(ctx.url);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });
  return ctx;
}

/** The sorted set of a semaphore's holders in Redis. */
const holdersKey = (name) => `{semaphore:${name}}:holders`;

module.exports = { useRedis, doneWithRedis, cleanKeys, redisTests, holdersKey, uniqueRedisName, KEY_PREFIX, SKIP_MESSAGE };
