'use strict';
// Shared by every test file: unique semaphore names, cleanup, and real
// child processes (spawned node scripts from test/fixtures/). The robust
// ledger's helpers are in ledger.js, Redis's in redis.js.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const Semaphore = require('../..');

const PREFIX = `psem-test-${process.pid}-`;
let counter = 0;
const made = new Set();

/** A name unique to this run (pid + counter), removed by the root after-hooks. */
function uniqueName(label = 'sem') {
  const name = `/${PREFIX}${counter++}-${label}`;
  made.add(name);
  return name;
}

/** Unlinks every name this run made that still exists. */
function unlinkAll() {
  for (const name of made) {
    try {
      Semaphore.unlink(name);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }
  made.clear();
}

/** The sem.* entries of /dev/shm, and psem.* robust ledgers, that this run left behind. */
function leftovers() {
  return fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`sem.${PREFIX}`) || f.startsWith(`psem.${PREFIX}`));
}

/** true when the kernel object behind `name` exists. */
function exists(name) {
  return fs.existsSync(`/dev/shm/sem.${name.replace(/^\//, '')}`);
}

/**
 * How many mappings of the semaphore `name` the process has (/proc/PID/maps),
 * matched by inode: glibc maps a new semaphore under a temporary name, and
 * maps a name only once per process however many handles open it.
 */
function mappings(name, pid = 'self') {
  const ino = String(fs.statSync(`/dev/shm/sem.${name.replace(/^\//, '')}`).ino);
  return fs
    .readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((line) => line.split(/\s+/)[4] === ino && line.includes('/dev/shm/')).length;
}

const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, '..', 'fixtures');

/**
 * Spawns `node fixtures/<script> ...args` and returns the child, with
 * `child.done`: a promise of { code, signal, stdout, stderr }, and
 * `child.line(re)`: a promise of the first stdout line matching re.
 * options: nodeArgs, env, cwd, cpu (run it pinned there, with taskset), and
 * detached (its own process group, for a signal to the whole group: -pid).
 */
function run(script, args = [], options = {}) {
  const file = path.isAbsolute(script) ? script : path.join(FIXTURES, script);
  const argv = [process.execPath, ...(options.nodeArgs || []), file, ...args];
  if (options.cpu !== undefined) argv.unshift('taskset', '-c', String(options.cpu));
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd || ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  let stdout = '';
  let stderr = '';
  const watchers = [];
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    for (const w of watchers.slice()) {
      const hit = stdout.split('\n').find((l) => w.re.test(l));
      if (hit !== undefined) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const w of watchers) w.reject(new Error(`child exited (${code ?? signal}) before printing ${w.re}\nstdout: ${stdout}\nstderr: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  child.line = (re) =>
    new Promise((resolve, reject) => {
      const hit = stdout.split('\n').find((l) => re.test(l));
      if (hit !== undefined) return resolve(hit);
      if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`child already exited before printing ${re}`));
      watchers.push({ re, resolve, reject });
    });
  return child;
}

/** Runs `node -e code` as a child, like run() runs a fixture (run()'s file argument is only argv[1]). */
function runCode(code, options = {}) {
  return run('/dev/null', [], { ...options, nodeArgs: [...(options.nodeArgs || []), '-e', code] });
}

/** Runs a fixture to its end and returns { code, signal, stdout, stderr }. */
function runToEnd(script, args, options) {
  return run(script, args, options).done;
}

/** The error `action` throws or rejects with; fails if it succeeds. */
async function failure(action) {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, got success');
}

/**
 * Resolves with the child's result ({ code, signal, stdout, stderr }), or
 * after `ms` calls `onTimeout(child)` (default: SIGKILL it), waits for it to
 * end and resolves with that result plus `hung: true`.
 */
async function within(child, ms, onTimeout = (c) => c.kill('SIGKILL')) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, ms, 'hung');
  });
  const first = await Promise.race([child.done, late]);
  clearTimeout(timer);
  if (first !== 'hung') return first;
  onTimeout(child);
  return { ...(await child.done), hung: true };
}

/** The first stdout line of `child` matching `re`, or undefined when none comes within `ms` (or the child ends first). */
function lineWithin(child, re, ms) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
  });
  return Promise.race([child.line(re).catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

/**
 * CPU load for race tests: `count` busy-looping node processes (at least as
 * many as the cores the test wants crowded). `stop()` kills each by its PID
 * and resolves once they are gone. Always stop it in a finally/after hook.
 */
function cpuLoad(count = 2) {
  const hogs = [];
  for (let i = 0; i < count; i++) {
    hogs.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  }
  const gone = hogs.map(
    (hog) => new Promise((resolve) => (hog.exitCode !== null || hog.signalCode !== null ? resolve() : hog.once('exit', resolve))),
  );
  return {
    pids: hogs.map((hog) => hog.pid),
    async stop() {
      for (const hog of hogs) if (hog.exitCode === null && hog.signalCode === null) hog.kill('SIGKILL');
      await Promise.all(gone);
    },
  };
}

// The futex syscall's number, for blockedInFutex().
const FUTEX = { x64: 202, arm64: 98, ia32: 240, arm: 240, riscv64: 98, ppc64: 221, s390x: 238 }[process.arch];

/**
 * Resolves true once thread `tid` of process `pid` (the main thread by
 * default) sleeps in a futex wait (where sem_wait blocks), seen twice in a
 * row; false after `ms` without it. With `name`, only a futex wait on an
 * address inside that semaphore's mapping counts. For sending a signal only
 * once a sync wait really blocks, rather than after a guessed sleep.
 */
async function blockedInFutex(pid, ms = 3000, tid = pid, name = undefined) {
  const end = Date.now() + ms;
  let seen = 0;
  while (Date.now() < end) {
    let state;
    let call;
    try {
      state = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
      call = fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ');
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ESRCH') return false; // gone
      // /proc/PID/syscall unreadable (no ptrace access): a guess instead.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return false;
    }
    const inFutex = state === 'S' && Number(call[0]) === FUTEX && (name === undefined || onSemaphore(pid, name, BigInt(call[1])));
    seen = inFutex ? seen + 1 : 0;
    if (seen >= 2) return true;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return false;
}

// Whether `address` lies in a mapping of the semaphore `name` in process
// `pid`: a futex wait there is a wait on that semaphore, not some lock of
// the runtime (V8 and libuv wait on futexes too).
function onSemaphore(pid, name, address) {
  const file = `/dev/shm/sem.${name.replace(/^\//, '')}`;
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    if (!line.includes(file)) continue;
    const [from, to] = line
      .split(' ')[0]
      .split('-')
      .map((hex) => BigInt(`0x${hex}`));
    if (address >= from && address < to) return true;
  }
  return false;
}

/**
 * Builds the addon with `defines` (e.g. ['POSIX_SEMAPHORE_NO_CLOCKWAIT']) in
 * a temporary copy of the package and returns the copy's directory, which
 * `require(dir)` loads like the package; readable by every user (0755), for
 * tests that run as another. Remove it with removeCopy(dir). The one
 * build-in-a-copy lives in scripts/lib/build.js.
 */
async function buildVariant(defines, label = 'variant') {
  const copy = await require('../../scripts/lib/build').buildVariant(label, defines);
  fs.chmodSync(copy, 0o755);
  return copy;
}

/** Removes a directory made by buildVariant() (or any temporary copy). */
function removeCopy(dir) {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Compiles scripts/lib/semctl.c (a C program on the same semaphores: sem_open) into `dir`; returns the binary's path. */
function compileSemctl(dir) {
  const file = path.join(dir, 'semctl');
  execFileSync('cc', ['-O2', '-Wall', '-o', file, path.join(ROOT, 'scripts', 'lib', 'semctl.c'), '-pthread']);
  return file;
}

/** A name unique to this run of exactly `bytes` bytes after its '/' (padded with 'x'), removed like uniqueName()'s. */
function uniqueNameOfLength(bytes) {
  const base = `/${PREFIX}${counter++}-`;
  const name = base + 'x'.repeat(bytes - (base.length - 1));
  if (Buffer.byteLength(name) !== bytes + 1) throw new Error(`cannot make a name of ${bytes} bytes`);
  made.add(name);
  return name;
}

module.exports = {
  Semaphore,
  uniqueName,
  unlinkAll,
  leftovers,
  exists,
  uniqueNameOfLength,
  mappings,
  run,
  runToEnd,
  runCode,
  failure,
  within,
  lineWithin,
  cpuLoad,
  blockedInFutex,
  buildVariant,
  removeCopy,
  compileSemctl,
  ROOT,
  FIXTURES,
};
