'use strict';
// (7) What waiting costs the rest of the process, and how fast it still wakes.
//
// - readFile: the median of tiny fs.promises.readFile calls (each is four
//   threadpool jobs: open, fstat, read, close) while acquires wait on
//   semaphores of value 0 (as if another process held them): nothing
//   waiting, 4/16/64/100 distinct names, 100 handles of one name; with the
//   default pool and with UV_THREADPOOL_SIZE=2. Each in a fresh process.
// - idle CPU of the same waiting process, nothing else running, % of one core.
// - wake: another process posts each of 64 waited names once; the time from
//   its post to the waiter's resolve, per name (and the same for one name).
// - fairness: 4 processes take turns on one unit with a 1 ms critical
//   section for 10 s: each one's share of acquisitions and worst wait.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore, uniqueName, median, spawnNode, nextLine, main } = require('./lib/common');

const POOLS = ['', '2']; // '' = libuv's default (4)
const LOADS = ['idle', 'names:4', 'names:16', 'names:64', 'names:100', 'handles:100'];
const READ_MS = 2000; // readFile loop, at most
const READ_MAX = 400; // ... or this many calls
const CPU_MS = 3000;
const WAKE_ROUNDS = { 64: 4, 1: 30 };
const FAIR_PROCESSES = 4;
const FAIR_MS = 10_000;
const HOLD_MS = 1;

const now = () => performance.timeOrigin + performance.now(); // ms, comparable across processes
const percentile = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const stats = (values) => ({ n: values.length, p50: median(values), p99: percentile(values, 99), max: Math.max(...values) });

// A process that waits as `load` says, then times readFile and its own CPU.
async function load(what) {
  const [kind, count] = what.split(':');
  const n = Number(count || 0);
  const sems = [];
  if (kind === 'names') for (let i = 0; i < n; i++) sems.push(new Semaphore(uniqueName(`tp${i}`), { value: 0 }));
  if (kind === 'handles') {
    const name = uniqueName('tp-one');
    for (let i = 0; i < n; i++) sems.push(new Semaphore(name, { value: 0 }));
  }
  const waits = sems.map((sem) => sem.acquire().catch(() => undefined));
  await sleep(300); // every wait in its slice

  const file = path.join(os.tmpdir(), `psem-bench-${process.pid}.txt`);
  fs.writeFileSync(file, 'x');
  const reads = [];
  const until = performance.now() + READ_MS;
  while (performance.now() < until && reads.length < READ_MAX) {
    const t0 = performance.now();
    await fs.promises.readFile(file);
    reads.push(performance.now() - t0);
  }
  fs.unlinkSync(file);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(CPU_MS);
  const used = process.cpuUsage(cpu0);
  const cpuPercent = ((used.user + used.system) / 1e3 / (performance.now() - t0)) * 100;

  for (const sem of sems) sem.close();
  await Promise.all(waits);
  console.log(`LOAD ${JSON.stringify({ readFile: stats(reads), cpuPercent })}`);
}

// Waits on `names`, `rounds` times: prints when waiting, then each name's resolve time.
async function waiter(rounds, ...names) {
  const sems = names.map((name) => new Semaphore(name, { create: false }));
  for (let r = 0; r < Number(rounds); r++) {
    const times = new Array(sems.length);
    const all = sems.map((sem, i) => sem.acquire().then(() => (times[i] = now())));
    await sleep(150); // past the yield loop, into the wait proper
    console.log(`READY ${r}`);
    await Promise.all(all);
    console.log(`TIMES ${JSON.stringify(times)}`);
  }
  for (const sem of sems) sem.close();
}

// Takes turns on `name` until `ms` have passed: acquire, hold 1 ms, release.
async function contender(name, ms) {
  const sem = new Semaphore(name, { create: false });
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  console.log('READY');
  await nextLine();
  const waits = [];
  const until = performance.now() + Number(ms);
  while (performance.now() < until) {
    const t0 = performance.now();
    await sem.acquire();
    waits.push(performance.now() - t0);
    Atomics.wait(sleeper, 0, 0, HOLD_MS); // the critical section: 1 ms, thread blocked
    sem.release();
  }
  sem.close();
  console.log(`DONE ${JSON.stringify({ count: waits.length, worst: Math.max(...waits), p99: percentile(waits, 99) })}`);
}

const poolEnv = (pool) => ({ UV_THREADPOOL_SIZE: pool || undefined }); // undefined: not set (libuv reads '' as 1)

async function wake(pool, count) {
  const sems = [];
  for (let i = 0; i < count; i++) sems.push(new Semaphore(uniqueName(`wake${i}`), { value: 0 }));
  const rounds = WAKE_ROUNDS[count];
  const child = spawnNode(__filename, ['waiter', rounds, ...sems.map((s) => s.name)], { env: poolEnv(pool) });
  const latencies = [];
  for (let r = 0; r < rounds; r++) {
    await child.line(new RegExp(`^READY ${r}$`));
    const posted = sems.map((sem) => {
      const t = now();
      sem.post();
      return t;
    });
    const [, json] = await child.line(/^TIMES (.*)$/);
    JSON.parse(json).forEach((t, i) => latencies.push(t - posted[i]));
  }
  await child.done;
  for (const sem of sems) sem.close();
  return stats(latencies);
}

async function fairness() {
  const sem = new Semaphore(uniqueName('fair'), { value: 1 });
  const children = [];
  for (let i = 0; i < FAIR_PROCESSES; i++) children.push(spawnNode(__filename, ['contender', sem.name, FAIR_MS]));
  await Promise.all(children.map((c) => c.line(/^READY$/)));
  for (const c of children) c.send('go');
  const done = await Promise.all(children.map((c) => c.line(/^DONE (.*)$/).then(([, j]) => JSON.parse(j))));
  await Promise.all(children.map((c) => c.done));
  sem.close();
  const total = done.reduce((a, d) => a + d.count, 0);
  return done.map((d) => ({ ...d, share: d.count / total }));
}

async function measure() {
  const results = { loads: {}, wake: {}, handoff: {} };
  for (const pool of POOLS) {
    const key = pool || 'default';
    results.loads[key] = {};
    for (const what of LOADS) {
      const child = spawnNode(__filename, ['load', what], { env: poolEnv(pool) });
      child.stdin.end();
      const [, json] = await child.line(/^LOAD (.*)$/);
      await child.done;
      results.loads[key][what] = JSON.parse(json);
    }
    results.wake[key] = await wake(pool, 64);
    results.handoff[key] = await wake(pool, 1);
  }
  results.fairness = await fairness();
  return { results };
}

main(module, measure, { load, waiter, contender });
