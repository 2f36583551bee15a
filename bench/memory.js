'use strict';
// (6) Memory and handles: RSS, heap, sem mappings (/proc/self/maps) and fds
// after a warm-up and after 1,000,000 more acquire/release cycles, then after
// a warm-up and after 100,000 more open/close cycles. Run with --expose-gc.
// The open/close warm-up is as long as the run: V8 grows its young
// generation under that allocation rate (about 20 MiB of RSS) before it
// settles, and Node-API's bookkeeping for each handle's External and bound
// functions grows glibc's heap for a while longer (test/support/cycles.js),
// so for open/close the judge is the native handles still alive
// (native.liveHandles()), mappings and fds, each exact; RSS is shown.
const { Semaphore, uniqueName, handleCounts, main } = require('./lib/common');
const { native } = require('../dist/binding');

const CYCLES = { warmUp: 100_000, run: 1_000_000 };
const OPENS = { warmUp: 100_000, run: 100_000 };

async function snapshot() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve)); // finalisers may run in a later turn
  }
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMiB: rss / 2 ** 20, heapMiB: heapUsed / 2 ** 20, handles: native.liveHandles(), ...handleCounts() };
}

async function acquireRelease(sem, n) {
  for (let i = 0; i < n; i++) {
    await sem.acquire();
    sem.release();
    sem.wait();
    sem.post();
  }
}

function openClose(name, n) {
  for (let i = 0; i < n; i++) new Semaphore(name).close();
}

async function measure() {
  const sem = new Semaphore(uniqueName('memory'));
  await acquireRelease(sem, CYCLES.warmUp);
  const cyclesWarm = await snapshot();
  await acquireRelease(sem, CYCLES.run);
  const cyclesEnd = await snapshot();
  sem.close();

  const name = uniqueName('memory-open');
  openClose(name, OPENS.warmUp);
  await new Promise((resolve) => setImmediate(resolve));
  const opensWarm = await snapshot();
  openClose(name, OPENS.run);
  await new Promise((resolve) => setImmediate(resolve)); // let finalisers run
  const opensEnd = await snapshot();
  return { results: { cyclesWarm, cyclesEnd, opensWarm, opensEnd }, cycles: CYCLES.run, opens: OPENS.run };
}

main(module, measure);
