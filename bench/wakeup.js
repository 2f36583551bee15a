'use strict';
// (10) Wake-up from idle, µs: the C program posts (after 20 ms of nobody
// doing anything), and the time from its sem_post to the waiter's return:
// a waiting `await acquire()`, a sync `wait()`, and the C program's
// sem_wait, in turn in the same run. Neither process is pinned: the waiter
// sleeps in the kernel, as a real one does. Both read CLOCK_MONOTONIC
// (process.hrtime in Node); the poster writes its time into a small shared
// file before each post.
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Semaphore, uniqueName, median, spawnNode, main } = require('./lib/common');
const { buildC } = require('./lib/build');

const ROUNDS = 60;
const PAUSE_MS = 20;
const REPEATS = 3; // each waiter kind this many times, in turn

// The Node waiter: prints one µs figure per round.
async function waiter(mode, goName, doneName, clockFile, rounds) {
  const go = new Semaphore(goName, { create: false });
  const done = new Semaphore(doneName, { create: false });
  const fd = fs.openSync(clockFile, 'r');
  const buffer = Buffer.alloc(8);
  const samples = [];
  for (let round = 0; round < Number(rounds); round++) {
    if (mode === 'sync') go.wait();
    else await go.acquire();
    const t1 = process.hrtime.bigint();
    fs.readSync(fd, buffer, 0, 8, 0);
    samples.push((Number(t1) - buffer.readDoubleLE(0)) / 1e3);
    done.post();
  }
  fs.closeSync(fd);
  console.log(`SAMPLES ${JSON.stringify(samples)}`);
  go.close();
  done.close();
}

function run(binary, args) {
  return new Promise((resolve, reject) => execFile(binary, args, { encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

async function wakeups(mode, c) {
  const go = new Semaphore(uniqueName(`wake-${mode}-go`), { value: 0 });
  const done = new Semaphore(uniqueName(`wake-${mode}-done`), { value: 0 });
  const clock = path.join(os.tmpdir(), `psem-bench-wake-${process.pid}`);
  fs.writeFileSync(clock, Buffer.alloc(8));
  try {
    const names = [go.name, done.name, clock, String(ROUNDS)];
    const posting = run(c, ['wake-post', ...names, String(PAUSE_MS)]);
    if (mode === 'C') {
      const [out] = await Promise.all([run(c, ['wake-wait', ...names]), posting]);
      return out.trim().split('\n').map(Number);
    }
    const child = spawnNode(__filename, ['waiter', mode, ...names]);
    const [, json] = await child.line(/^SAMPLES (.*)$/);
    await Promise.all([child.done, posting]);
    return JSON.parse(json);
  } finally {
    go.close();
    done.close();
    fs.rmSync(clock, { force: true });
  }
}

async function measure() {
  const c = buildC();
  const samples = { C: [], sync: [], async: [] };
  for (let r = 0; r < REPEATS; r++) {
    for (const mode of Object.keys(samples)) samples[mode].push(...(await wakeups(mode, c)));
  }
  return { results: Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, { median: median(s), samples: s }])) };
}

main(module, measure, { waiter });
