'use strict';
// One process of the soak (soak.js beside it starts four):
//   node soak-worker.js '{"name","shmKey","value","ops","seed","index","processes","operations","counterFile"}'
// Runs `ops` random operations on the semaphore `name`, mixing sync
// wait()/timedWait()/tryWait() with await acquire() (plain, with timeouts,
// with aborts), tryAcquire(), withLock(), bursts of concurrent acquires on two
// handles, and handles closed while their acquires wait. Every holder
// enters a critical section that counts its occupants in shared memory
// (System V, so every process sees the same Int32Array): more than `value`
// inside at once is a violation. With value 1 each holder also increments a
// counter file non-atomically, so a double grant would lose an update.
// Prints one JSON line of counts at the end.
const fs = require('node:fs');
const shm = require('shm-typed-array');
const Semaphore = require('../..');

const config = JSON.parse(process.argv[2]);
const { name, value, ops, index } = config;

// Shared counters (see soak.js): inside now, most inside, violations,
// grants, then one progress slot per worker, then the operation each
// worker is in (1 + its index in OPERATIONS; 0 between operations).
const INSIDE = 0;
const MAX_INSIDE = 1;
const VIOLATIONS = 2;
const GRANTS = 3;
const PROGRESS = 8;
const shared = shm.get(config.shmKey, 'Int32Array');
if (shared === null) throw new Error(`no shared memory segment ${config.shmKey}`);

let state = (config.seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0 || 1;
function random(n) {
  // xorshift32: the same seed replays the same choices
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state % n;
}

const sem = new Semaphore(name, { create: false });
const second = new Semaphore(name, { create: false }); // a second handle to the same name
const counts = {};
const count = (key) => {
  counts[key] = (counts[key] || 0) + 1;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tick = () => new Promise((resolve) => setImmediate(resolve));

function enter() {
  const inside = Atomics.add(shared, INSIDE, 1) + 1;
  Atomics.add(shared, GRANTS, 1);
  if (inside > value) Atomics.add(shared, VIOLATIONS, 1);
  for (let seen = Atomics.load(shared, MAX_INSIDE); inside > seen; seen = Atomics.load(shared, MAX_INSIDE)) {
    if (Atomics.compareExchange(shared, MAX_INSIDE, seen, inside) === seen) break;
  }
}
function leave() {
  Atomics.sub(shared, INSIDE, 1);
}

// A read-modify-write that loses updates if two holders overlap (value 1 only).
function bumpCounter() {
  if (!config.counterFile) return;
  const n = Number(fs.readFileSync(config.counterFile, 'utf8'));
  fs.writeFileSync(config.counterFile, String(n + 1));
}

function criticalSync() {
  enter();
  bumpCounter();
  const until = process.hrtime.bigint() + BigInt(random(50_000)); // up to 50 µs of work
  while (process.hrtime.bigint() < until);
  leave();
}

async function criticalAsync() {
  enter();
  const n = config.counterFile ? Number(await fs.promises.readFile(config.counterFile, 'utf8')) : 0;
  if (random(3) === 0) await tick();
  else if (random(4) === 0) await sleep(random(3));
  if (config.counterFile) await fs.promises.writeFile(config.counterFile, String(n + 1));
  leave();
}

// An acquire() that may be rejected: ETIMEDOUT, ABORT_ERR and
// ERR_SEMAPHORE_CLOSED are expected outcomes; anything else is not.
async function settle(promise, label) {
  try {
    await promise;
    count(`${label}:ok`);
    return true;
  } catch (err) {
    const code = err.code ?? err.name;
    if (code !== 'ETIMEDOUT' && code !== 'ABORT_ERR' && code !== 'ERR_SEMAPHORE_CLOSED') throw err;
    count(`${label}:${code}`);
    return false;
  }
}

// The mix, [operation, weight], chosen by soak.js.
const OPERATIONS = config.operations;
const WHEEL = OPERATIONS.flatMap(([op, weight]) => Array(weight).fill(op));

async function operation(op) {
  switch (op) {
    case 'wait':
      sem.wait();
      count('wait:ok');
      criticalSync();
      sem.post();
      return;
    case 'timedWait':
      try {
        sem.timedWait(random(10));
      } catch (err) {
        if (err.code !== 'ETIMEDOUT') throw err;
        count('timedWait:ETIMEDOUT');
        return;
      }
      count('timedWait:ok');
      criticalSync();
      sem.post();
      return;
    case 'tryWait':
      try {
        sem.tryWait();
      } catch (err) {
        if (err.code !== 'EAGAIN') throw err;
        count('tryWait:EAGAIN');
        return;
      }
      count('tryWait:ok');
      criticalSync();
      sem.post();
      return;
    case 'acquire': {
      const handle = random(2) === 0 ? sem : second;
      await handle.acquire();
      count('acquire:ok');
      await criticalAsync();
      handle.release();
      return;
    }
    case 'acquireTimeout':
      if (await settle(sem.acquire({ timeout: random(15) }), 'acquireTimeout')) {
        await criticalAsync();
        sem.release();
      }
      return;
    case 'acquireAbort': {
      const controller = new AbortController();
      if (random(4) === 0) controller.abort();
      else setTimeout(() => controller.abort(), random(15));
      if (await settle(second.acquire({ signal: controller.signal }), 'acquireAbort')) {
        await criticalAsync();
        second.release();
      }
      return;
    }
    case 'tryAcquire':
      if (sem.tryAcquire()) {
        count('tryAcquire:true');
        criticalSync();
        sem.release();
      } else count('tryAcquire:false');
      return;
    case 'withLock': {
      const options = random(2) === 0 ? { timeout: random(20) } : undefined;
      await settle(sem.withLock(criticalAsync, options), 'withLock');
      return;
    }
    case 'burst': {
      // Several acquires queued at once on two handles of this process.
      const jobs = [];
      for (let i = 2 + random(3); i > 0; i--) {
        const handle = random(2) === 0 ? sem : second;
        const options = random(3) === 0 ? { timeout: random(20) } : undefined;
        jobs.push(settle(handle.withLock(criticalAsync, options), 'burst'));
      }
      await Promise.all(jobs);
      return;
    }
    case 'closeWhileWaiting': {
      // A third handle whose acquires are cut short by close().
      const doomed = new Semaphore(name, { create: false });
      const jobs = [];
      for (let i = 1 + random(3); i > 0; i--) {
        jobs.push(
          doomed.acquire().then(
            async () => {
              count('closeWhileWaiting:ok');
              await criticalAsync();
              sem.release(); // `doomed` may be closed by now: give the unit back through another handle
            },
            (err) => {
              if (err.code !== 'ERR_SEMAPHORE_CLOSED') throw err;
              count('closeWhileWaiting:ERR_SEMAPHORE_CLOSED');
            },
          ),
        );
      }
      await sleep(random(10));
      doomed.close();
      await Promise.all(jobs);
      return;
    }
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

(async () => {
  const started = Date.now();
  // The checker's own test: one extra unit makes the semaphore grant value + 1.
  if (config.injectExtraUnit && index === 0) sem.post();
  for (let i = 0; i < ops; i++) {
    const op = WHEEL[random(WHEEL.length)];
    Atomics.store(shared, PROGRESS + config.processes + index, OPERATIONS.findIndex(([o]) => o === op) + 1);
    await operation(op);
    Atomics.store(shared, PROGRESS + config.processes + index, 0);
    Atomics.add(shared, PROGRESS + index, 1);
    if (i % 64 === 0) await tick(); // let timers and I/O in between sync streaks
  }
  sem.close();
  second.close();
  process.stdout.write(`${JSON.stringify({ index, ops, ms: Date.now() - started, counts })}\n`);
})().catch((err) => {
  process.stderr.write(`soak worker ${index}: ${err.stack}\n`);
  process.exitCode = 1;
});
