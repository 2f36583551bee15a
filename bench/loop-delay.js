'use strict';
// (5) Event-loop delay of a process whose 1,000 acquire() calls wait on a
// semaphore that another process holds for about 2 s, then drain (each one
// releases as soon as it resolves). monitorEventLoopDelay at 1 ms resolution.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { Semaphore, uniqueName, spawnNode, nextLine, main } = require('./lib/common');

const WAITERS = 1000;
const HOLD_MS = 2000;

// The other process: takes the only unit, gives it back when told to.
async function holder(name) {
  const sem = new Semaphore(name, { create: false });
  sem.wait();
  console.log('held');
  await nextLine();
  sem.post();
  sem.close();
}

async function measure() {
  const sem = new Semaphore(uniqueName('loop-delay'), { value: 1 });
  const child = spawnNode(__filename, ['holder', sem.name]);
  await child.line(/^held$/);

  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const started = process.hrtime.bigint();
  const all = [];
  for (let i = 0; i < WAITERS; i++) all.push(sem.acquire().then(() => sem.release()));
  await sleep(HOLD_MS);
  const released = process.hrtime.bigint();
  child.send('release');
  await Promise.all(all);
  const drained = process.hrtime.bigint();
  histogram.disable();
  await child.done;
  sem.close();

  const ms = (ns) => Number(ns) / 1e6;
  return {
    results: {
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      samples: histogram.count,
      waitedMs: ms(released - started),
      drainMs: ms(drained - released),
    },
  };
}

main(module, measure, { holder });
