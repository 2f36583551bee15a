'use strict';
// The Windows side of bench/win32.js, run by Windows node under Wine:
//   node run.js RESULTS.json C.exe LABEL=PACKAGE_DIR...
// For each build of the package: the sync pair (wait()+post()), the async
// pair (await acquire()+release()), and round trips with a C partner
// process (it posts PING, we take it and post PONG) taken with wait() and
// with acquire(); then the same calls in C (pair.c). Medians of rounds.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');

const [out, cExe, ...builds] = process.argv.slice(2);
const ROUNDS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let counter = 0;
const unique = (label) => `/psem-bench-win32-${process.pid}-${counter++}-${label}`;

async function roundTrips(Semaphore, n, take) {
  const ping = new Semaphore(unique('ping'), { value: 0 });
  const pong = new Semaphore(unique('pong'), { value: 0 });
  const child = spawn(cExe, ['partner', ping.name.slice(1), pong.name.slice(1), String(n + 100)], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('close', resolve));
  for (let i = 0; i < 100; i++) {
    await take(ping);
    pong.post();
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    await take(ping);
    pong.post();
  }
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  await exited;
  ping.close();
  pong.close();
  return us;
}

async function measure(dir) {
  const Semaphore = require(dir);
  const sem = new Semaphore(unique('pair'));
  const results = { 'sync pair (ns)': [], 'async pair (ns)': [], 'round trip, wait() (µs)': [], 'round trip, acquire() (µs)': [] };
  for (let r = 0; r < ROUNDS; r++) {
    let n = 50_000;
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      sem.wait();
      sem.post();
    }
    results['sync pair (ns)'].push(Number(process.hrtime.bigint() - t0) / n);
    n = 20_000;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await sem.acquire();
      sem.release();
    }
    results['async pair (ns)'].push(Number(process.hrtime.bigint() - t0) / n);
    results['round trip, wait() (µs)'].push(await roundTrips(Semaphore, 500, (s) => s.wait()));
    results['round trip, acquire() (µs)'].push(await roundTrips(Semaphore, 500, (s) => s.acquire()));
  }
  sem.close();
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
}

async function main() {
  const all = {};
  for (const build of builds) {
    const [label, dir] = build.split('=');
    all[label] = await measure(dir);
  }
  const c = (mode, n) =>
    median(
      execFileSync(cExe, [mode, String(n), String(ROUNDS)], { encoding: 'utf8' })
        .trim()
        .split(/\s+/)
        .map(Number),
    );
  all.C = {
    'sync pair (ns)': c('pair', 200_000),
    'round trip, threads, WaitForSingleObject (µs)': c('pingpong', 5_000),
    'round trip, threads, RegisterWaitForSingleObject (µs)': c('pingpong-registered', 5_000),
  };
  fs.writeFileSync(out, JSON.stringify(all, null, 2));
}

main().catch((err) => {
  fs.writeFileSync(out, JSON.stringify({ error: err.stack }));
  process.exitCode = 1;
});
