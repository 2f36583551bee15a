'use strict';
// Shared by every bench file: unique semaphore names, medians, timed loops,
// child processes that talk in lines, and the way a measurement file runs.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

// BENCH_PACKAGE: another build of this package to measure (bench/index.js
// --baseline sets it to the build of main that this branch started from).
const Semaphore = require(process.env.BENCH_PACKAGE || '../..');

const PREFIX = `psem-bench-${process.pid}-`;
let counter = 0;
const made = new Set();

/** A semaphore name unique to this process (pid + counter), unlinked by unlinkAll(). */
function uniqueName(label) {
  const name = `/${PREFIX}${counter++}-${label}`;
  made.add(name);
  return name;
}

/**
 * Unlinks every name uniqueName() gave that still exists, and any other name
 * with this process's prefix (the original 0.0.2 can append a stray byte to
 * the name it creates).
 */
function unlinkAll() {
  for (const file of fs.readdirSync('/dev/shm')) {
    if (file.startsWith(`sem.${PREFIX}`)) made.add(`/${file.slice(4)}`);
  }
  for (const name of made) {
    try {
      Semaphore.unlink(name);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }
  made.clear();
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A timing loop of its own for `fn` (a fresh function, so that each
 * candidate gets its own monomorphic call site): returns ns per call of fn.
 */
function timedLoop(fn) {
  const loop = new Function(
    'fn',
    'n',
    'const t0 = process.hrtime.bigint(); for (let i = 0; i < n; i++) fn(); return Number(process.hrtime.bigint() - t0) / n;',
  );
  return (n) => loop(fn, n);
}

/**
 * Times candidates side by side: `rounds` rounds, each running every
 * candidate once for `n` iterations in turn (after one warm-up round).
 * candidates: { label: (n) => nsPerIteration | Promise }. Returns { label: { median, samples } }.
 */
async function interleave(candidates, { n, rounds }) {
  const samples = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  for (let round = -1; round < rounds; round++) {
    for (const [label, run] of Object.entries(candidates)) {
      const ns = await run(n);
      if (round >= 0) samples[label].push(ns);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, { median: median(s), samples: s }]));
}

/**
 * Spawns `node script ...args` (under `taskset -c cpu` if cpu is given) and returns the child with
 * `line(re)`: a promise of the next stdout line matching re (its match),
 * `send(text)`: writes a line to its stdin, and
 * `done`: a promise of { code, signal, stderr } that rejects on a failure.
 */
function spawnNode(script, args = [], { nodeArgs = [], env, cpu } = {}) {
  const argv = [process.execPath, ...nodeArgs, script, ...args.map(String)];
  if (cpu !== undefined) argv.unshift('taskset', '-c', String(cpu)); // pinned to one CPU
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr += d));
  const lines = [];
  const watchers = [];
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    const w = watchers.findIndex((x) => x.re.test(l));
    if (w < 0) return lines.push(l);
    const [watcher] = watchers.splice(w, 1);
    watcher.resolve(l.match(watcher.re));
  });
  child.line = (re) =>
    new Promise((resolve, reject) => {
      const i = lines.findIndex((l) => re.test(l));
      if (i >= 0) return resolve(lines.splice(i, 1)[0].match(re));
      watchers.push({ re, resolve });
      child.once('exit', () => reject(new Error(`${path.basename(script)} exited before printing ${re}: ${stderr.trim()}`)));
    });
  child.send = (text) => child.stdin.write(`${text}\n`);
  child.done = new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0) resolve({ code, signal, stderr });
      else reject(new Error(`${path.basename(script)} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim()}`));
    });
  });
  child.done.catch(() => {}); // reported where it is awaited, never as an unhandled rejection
  return child;
}

/** Resolves with the next line of this process's stdin (a child's orders). */
let stdinLines;
function nextLine() {
  if (!stdinLines) {
    const queue = [];
    const waiting = [];
    readline.createInterface({ input: process.stdin }).on('line', (l) => {
      if (waiting.length) waiting.shift()(l);
      else queue.push(l);
    });
    stdinLines = { queue, waiting };
  }
  if (stdinLines.queue.length) return Promise.resolve(stdinLines.queue.shift());
  return new Promise((resolve) => stdinLines.waiting.push(resolve));
}

/**
 * The entry point of a measurement file: `node bench/x.js [role args...]`.
 * With no role, runs measure() and prints `RESULT <json>` for bench/index.js;
 * with a role, runs roles[role](...args) (a child of the measurement).
 */
function main(module, measure, roles = {}) {
  if (require.main !== module) return;
  const [role, ...args] = process.argv.slice(2);
  const work = role && roles[role] ? roles[role](...args) : measure();
  Promise.resolve(work)
    .then((result) => {
      if (!(role && roles[role])) process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    })
    .catch((err) => {
      process.exitCode = 1;
      console.error(err);
    })
    .finally(() => {
      unlinkAll();
      if (role && roles[role]) process.stdin.destroy();
    });
}

/** Runs a measurement file in a fresh node process; resolves with its result. */
async function runMeasurement(file, { nodeArgs = [], env } = {}) {
  const child = spawnNode(file, [], { nodeArgs, env });
  child.stdin.end();
  const [, json] = await child.line(/^RESULT (.*)$/);
  await child.done;
  return JSON.parse(json);
}

/** Sem mappings of /dev/shm in this process, and open file descriptors. */
function handleCounts() {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  return {
    mappings: maps.filter((l) => l.includes('/dev/shm/sem.')).length,
    fds: fs.readdirSync('/proc/self/fd').length,
  };
}

module.exports = {
  Semaphore,
  uniqueName,
  unlinkAll,
  median,
  timedLoop,
  interleave,
  spawnNode,
  nextLine,
  main,
  runMeasurement,
  handleCounts,
};
