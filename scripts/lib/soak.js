'use strict';
// The soak: N processes (soak-worker.js beside this file) hammer one
// semaphore with a random mix of sync wait()/timedWait()/tryWait(), await
// acquire() with and without timeouts and aborts, tryAcquire(), withLock(),
// bursts of queued acquires on two handles and handles closed while their
// acquires wait. An invariant checker in shared memory counts the holders
// inside the critical section: more than `value` at once is a violation.
// With value 1 every holder also increments a counter file without any lock
// of its own, so a double grant would lose an update. At the end the
// semaphore's value must be the initial one. Run by scripts/soak.js (`npm
// run soak`, the long one) and by the short soak test.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const shm = require('shm-typed-array');
const Semaphore = require('../..');

const WORKER = path.join(__dirname, 'soak-worker.js');
const INSIDE = 0;
const MAX_INSIDE = 1;
const VIOLATIONS = 2;
const GRANTS = 3;
const PROGRESS = 8; // then one progress slot per worker, then the operation each is in

// The mix of operations, [name, weight]: see soak-worker.js.
const OPERATIONS = [
  ['wait', 3],
  ['timedWait', 2],
  ['tryWait', 2],
  ['acquire', 4],
  ['acquireTimeout', 3],
  ['acquireAbort', 2],
  ['tryAcquire', 2],
  ['withLock', 3],
  ['burst', 1],
  ['closeWhileWaiting', 1],
];

/**
 * Runs one soak and resolves with its report (never rejects for a failed
 * invariant: `report.ok` says whether it held).
 * `injectExtraUnit` makes one worker post an extra unit first: a semaphore
 * that grants value + 1, which the checker must catch.
 * @param {{ value?: number, processes?: number, ops?: number, seed?: number, name?: string, stallMs?: number, injectExtraUnit?: boolean }} options
 */
async function soak(options = {}) {
  const value = options.value ?? 1;
  const processes = options.processes ?? 4;
  const ops = options.ops ?? 25000;
  const seed = options.seed ?? Date.now() >>> 0;
  const stallMs = options.stallMs ?? 15000;
  const name = options.name ?? `/psem-soak-${process.pid}-${value}`;

  const sem = new Semaphore(name, { value, exclusive: true });
  const shared = shm.create(PROGRESS + 2 * processes, 'Int32Array'); // System V: gone when the last process detaches
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-soak-'));
  const counterFile = value === 1 ? path.join(dir, 'counter') : undefined;
  if (counterFile) fs.writeFileSync(counterFile, '0');
  const started = Date.now();
  const progress = () => Array.from({ length: processes }, (_, i) => Atomics.load(shared, PROGRESS + i));

  const children = [];
  let deadlock = false; // or what each worker was doing when they all stalled
  try {
    for (let index = 0; index < processes; index++) {
      const config = {
        name,
        shmKey: shared.key,
        value,
        ops,
        seed,
        index,
        processes,
        operations: OPERATIONS,
        counterFile,
        injectExtraUnit: options.injectExtraUnit === true,
      };
      const child = spawn(process.execPath, [WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.result = new Promise((resolve) => {
        child.on('close', (code, signal) => resolve({ index, code, signal, stdout, stderr }));
      });
      children.push(child);
    }

    // Watchdog: no operation anywhere for stallMs is a deadlock.
    let last = -1;
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      const total = progress().reduce((a, b) => a + b, 0);
      if (total !== last) {
        last = total;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > stallMs && !deadlock) {
        deadlock = {
          value: sem.value,
          inside: Atomics.load(shared, INSIDE),
          workers: children.map((child, i) => ({
            pid: child.pid,
            done: Atomics.load(shared, PROGRESS + i),
            in: OPERATIONS[Atomics.load(shared, PROGRESS + processes + i) - 1]?.[0] ?? 'between operations',
            ended: child.exitCode ?? child.signalCode,
          })),
        };
        if (options.onStall) options.onStall(deadlock, children);
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }, 250);
    const results = await Promise.all(children.map((c) => c.result));
    clearInterval(watchdog);

    const counts = {};
    const failures = [];
    for (const r of results) {
      if (r.code !== 0) failures.push(`worker ${r.index} ended with ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
      const line = r.stdout
        .trim()
        .split('\n')
        .find((l) => l.startsWith('{'));
      if (line) for (const [k, n] of Object.entries(JSON.parse(line).counts)) counts[k] = (counts[k] || 0) + n;
    }
    const grants = Atomics.load(shared, GRANTS);
    const counter = counterFile ? Number(fs.readFileSync(counterFile, 'utf8')) : undefined;
    const report = {
      value,
      processes,
      opsPerProcess: ops,
      seed,
      operations: progress().reduce((a, b) => a + b, 0),
      grants,
      violations: Atomics.load(shared, VIOLATIONS),
      maxInside: Atomics.load(shared, MAX_INSIDE),
      insideAtEnd: Atomics.load(shared, INSIDE),
      lostUpdates: counter === undefined ? undefined : grants - counter,
      initialValue: value,
      finalValue: sem.value,
      deadlock,
      ms: Date.now() - started,
      counts,
      failures,
    };
    report.ok =
      failures.length === 0 &&
      !deadlock &&
      report.violations === 0 &&
      report.maxInside <= value &&
      report.insideAtEnd === 0 &&
      (report.lostUpdates ?? 0) === 0 &&
      report.finalValue === value &&
      report.operations === processes * ops;
    return report;
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    sem.close();
    unlinkIfPresent(name);
    shm.destroy(shared.key);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Semaphore.unlink(name), at peace with a name already gone. */
function unlinkIfPresent(name) {
  try {
    Semaphore.unlink(name);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}

/** One line a person can paste into the README. */
function summary(r) {
  const rate = Math.round(r.operations / (r.ms / 1000));
  const lost = r.lostUpdates === undefined ? '' : `, lost updates ${r.lostUpdates}`;
  return (
    `value ${r.value}: ${r.operations} operations (${r.processes} processes × ${r.opsPerProcess}) in ${(r.ms / 1000).toFixed(1)} s ` +
    `(${rate} ops/s), ${r.grants} grants, violations ${r.violations}, most holders inside at once ${r.maxInside}${lost}, ` +
    `final value ${r.finalValue} (initial ${r.initialValue})${r.deadlock ? `, DEADLOCK ${JSON.stringify(r.deadlock)}` : ''} — ${r.ok ? 'ok' : 'FAILED'}`
  );
}

module.exports = { soak, summary };
