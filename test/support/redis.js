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

module.exports = { useRedis, doneWithRedis, cleanKeys, uniqueRedisName, KEY_PREFIX, SKIP_MESSAGE };
