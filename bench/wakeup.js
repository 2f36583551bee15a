'use strict';
// (10) Wake-up from idle, µs: the C program posts (after 20 ms of nobody
// doing anything), and the time from its sem_post to the waiter's return:
// a waiting `await acquire()`, a sync `wait()`, and the C program's
// sem_wait, in turn in the same run. Neither process is pinned: the waiter
// sleeps in the kernel, as a real one does. Both read CLOCK_MONOTONIC
// (process.hrtime in Node); the poster writes its time into a small shared
// file before each post. Beside them, Node's own wake-up from idle for any
// event from another process: a line written to a waiting node's stdin (a
// pipe), timed from just before the write to its 'data' callback. Every
// async wake-up pays it, whatever wakes the event loop.
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Semaphore, uniqueName, median, spawnNode, main } = require('./lib/common');
const { buildC } = require('./lib/build');

const ROUNDS = 60;
const PAUSE_MS = 20;
const REPEATS = 3; // each waiter kind this many times, in turn

// Node's own wake-up: each line on stdin is the writer's clock; prints one µs figure per line.
function pipeWaiter(rounds) {
  return new Promise((resolve) => {
    const samples = [];
    let buffered = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      const now = process.hrtime.bigint();
      buffered += chunk;
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        samples.push(Number(now - BigInt(buffered.slice(0, i))) / 1e3);
        buffered = buffered.slice(i + 1);
      }
      if (samples.length >= rounds) {
        console.log(`SAMPLES ${JSON.stringify(samples)}`);
        resolve();
      }
    });
    console.log('READY');
  });
}

// The Node waiter: prints one µs figure per round.
async function waiter(mode, goName, doneName, clockFile, rounds) {
  if (mode === 'pipe') return pipeWaiter(Number(rounds));
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

async function pipeWakeups() {
  const child = spawnNode(__filename, ['waiter', 'pipe', '-', '-', '-', String(ROUNDS)]);
  await child.line(/^READY$/);
  for (let round = 0; round < ROUNDS; round++) {
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    child.stdin.write(`${process.hrtime.bigint()}\n`);
  }
  const [, json] = await child.line(/^SAMPLES (.*)$/);
  child.stdin.end();
  await child.done;
  return JSON.parse(json);
}

async function wakeups(mode, c) {
  if (mode === 'pipe') return pipeWakeups();
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
  const samples = { C: [], sync: [], async: [], pipe: [] };
  for (let r = 0; r < REPEATS; r++) {
    for (const mode of Object.keys(samples)) samples[mode].push(...(await wakeups(mode, c)));
  }
  return { results: Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, { median: median(s), samples: s }])) };
}

main(module, measure, { waiter });
