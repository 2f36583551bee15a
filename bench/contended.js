'use strict';
// (4) Contended throughput, ops/s: 2 and 4 processes each doing N
// acquire / tiny critical section / release on one lock: this package (sync
// and async), proper-lockfile (a lock directory, retried every 1 ms) and
// redis-semaphore (a Mutex on ioredis, retried every 1 ms) and this
// package's own RedisSemaphore (posix-semaphore/redis, retried every 1 ms),
// against a redis-server on loopback that this file starts and stops; and
// RedisSemaphore's uncontended acquire+release round trip.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Semaphore, uniqueName, median, spawnNode, nextLine, main } = require('./lib/common');
const { startRedis, redisServerPath } = require('../scripts/lib/redis-server');

const PROCESSES = [2, 4];
// Operations per process, for a few tenths of a second a run; runs per figure.
const FLAVOURS = {
  sync: { ops: 1_000_000, runs: 3 },
  async: { ops: 300_000, runs: 3 },
  'proper-lockfile': { ops: 150, runs: 1 },
  'redis-semaphore': { ops: 400, runs: 1 },
  RedisSemaphore: { ops: 400, runs: 1 },
};
const REDIS_FLAVOURS = new Set(['redis-semaphore', 'RedisSemaphore']);

let criticalSection = 0; // the tiny critical section: one increment

// Each flavour: open(lockName, port) -> { run(n), close() }.
const LOCKS = {
  sync(name) {
    const sem = new Semaphore(name, { create: false });
    return {
      run(n) {
        for (let i = 0; i < n; i++) {
          sem.wait();
          criticalSection++;
          sem.post();
        }
      },
      close: () => sem.close(),
    };
  },
  async(name) {
    const sem = new Semaphore(name, { create: false });
    return {
      async run(n) {
        for (let i = 0; i < n; i++) {
          await sem.acquire();
          criticalSection++;
          sem.release();
        }
      },
      close: () => sem.close(),
    };
  },
  'proper-lockfile'(file) {
    const lockfile = require('proper-lockfile');
    const options = { realpath: false, retries: { retries: 10_000, factor: 1, minTimeout: 1, maxTimeout: 1 } };
    return {
      async run(n) {
        for (let i = 0; i < n; i++) {
          const unlock = await lockfile.lock(file, options);
          criticalSection++;
          await unlock();
        }
      },
      close() {},
    };
  },
  'redis-semaphore'(key, port) {
    const Redis = require('ioredis');
    const { Mutex } = require('redis-semaphore');
    const client = new Redis({ port: Number(port), host: '127.0.0.1', lazyConnect: true });
    const mutex = new Mutex(client, key, { retryInterval: 1, acquireTimeout: 600_000, refreshInterval: 0 });
    return {
      async run(n) {
        await client.connect();
        for (let i = 0; i < n; i++) {
          await mutex.acquire();
          criticalSection++;
          await mutex.release();
        }
      },
      close: () => client.quit(),
    };
  },
  RedisSemaphore(key, port) {
    const { RedisSemaphore } = require('../dist/redis');
    const sem = new RedisSemaphore(key, { url: `redis://127.0.0.1:${port}`, value: 1, retryMs: 1 });
    return {
      async run(n) {
        for (let i = 0; i < n; i++) {
          await sem.acquire();
          criticalSection++;
          await sem.release();
        }
      },
      close: () => sem.close(),
    };
  },
};

// RedisSemaphore alone: the uncontended acquire+release round trip, µs.
async function redisLatency(port) {
  const lock = LOCKS.RedisSemaphore(`psem-bench-${process.pid}-latency`, port);
  await lock.run(50); // connect and warm up
  const samples = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    await lock.run(200);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / 200);
  }
  await lock.close();
  return { median: median(samples), samples };
}

// A contending process: opens the lock, says ready, runs on "go", reports
// its start and end on the machine-wide monotonic clock.
async function worker(flavour, lockName, ops, port) {
  const lock = LOCKS[flavour](lockName, port);
  console.log('ready');
  await nextLine();
  const entered = criticalSection;
  const t0 = process.hrtime.bigint();
  await lock.run(Number(ops));
  const t1 = process.hrtime.bigint();
  if (criticalSection - entered !== Number(ops)) throw new Error(`${flavour}: ${criticalSection - entered} critical sections for ${ops} operations`);
  console.log(`DONE ${t0} ${t1}`);
  await lock.close();
}

async function oneRun(flavour, processes, ops, port) {
  let lockName;
  let sem;
  if (flavour === 'sync' || flavour === 'async') {
    sem = new Semaphore(uniqueName(`contended-${flavour}`), { value: 1 });
    lockName = sem.name;
  } else if (flavour === 'proper-lockfile') {
    lockName = path.join(os.tmpdir(), `psem-bench-${process.pid}-lockfile`);
  } else {
    lockName = `psem-bench-${process.pid}-redis`;
  }
  try {
    const workers = Array.from({ length: processes }, () => spawnNode(__filename, ['worker', flavour, lockName, ops, port ?? 0]));
    await Promise.all(workers.map((w) => w.line(/^ready$/)));
    for (const w of workers) w.send('go');
    const spans = await Promise.all(workers.map((w) => w.line(/^DONE (\d+) (\d+)$/)));
    await Promise.all(workers.map((w) => w.done));
    const start = spans.reduce((m, s) => (BigInt(s[1]) < m ? BigInt(s[1]) : m), BigInt(spans[0][1]));
    const end = spans.reduce((m, s) => (BigInt(s[2]) > m ? BigInt(s[2]) : m), 0n);
    return (processes * ops) / (Number(end - start) / 1e9);
  } finally {
    if (sem) sem.close();
  }
}

async function measure() {
  const results = {};
  const notes = [];
  let redis;
  if (redisServerPath()) {
    redis = await startRedis();
  } else {
    notes.push('redis-semaphore skipped: redis-server is not installed (apt-get install redis-server)');
  }
  try {
    for (const processes of PROCESSES) {
      for (const [flavour, { ops, runs }] of Object.entries(FLAVOURS)) {
        if (REDIS_FLAVOURS.has(flavour) && !redis) continue;
        const samples = [];
        for (let r = 0; r < runs; r++) samples.push(await oneRun(flavour, processes, ops, redis?.port));
        results[`${flavour} x${processes}`] = { median: median(samples), samples };
      }
    }
    if (redis) results['RedisSemaphore latency'] = await redisLatency(redis.port);
  } finally {
    if (redis) await redis.stop();
    fs.rmSync(path.join(os.tmpdir(), `psem-bench-${process.pid}-lockfile.lock`), { recursive: true, force: true });
  }
  return { results, notes };
}

main(module, measure, { worker });
