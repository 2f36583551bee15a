'use strict';
// Shared by every test file: unique semaphore names, cleanup, and real
// child processes (spawned node scripts from test/fixtures/).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const Semaphore = require('..');

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

const FIXTURES = path.join(__dirname, 'fixtures');

/**
 * Spawns `node fixtures/<script> ...args` and returns the child, with
 * `child.done`: a promise of { code, signal, stdout, stderr }, and
 * `child.line(re)`: a promise of the first stdout line matching re.
 * options: nodeArgs, env, cwd, and cpu (run it pinned there, with taskset).
 */
function run(script, args = [], options = {}) {
  const file = path.isAbsolute(script) ? script : path.join(FIXTURES, script);
  const argv = [process.execPath, ...(options.nodeArgs || []), file, ...args];
  if (options.cpu !== undefined) argv.unshift('taskset', '-c', String(options.cpu));
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd || path.join(__dirname, '..'),
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
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

/** A name unique to this run of exactly `bytes` bytes after its '/' (padded with 'x'), removed like uniqueName()'s. */
function uniqueNameOfLength(bytes) {
  const base = `/${PREFIX}${counter++}-`;
  const name = base + 'x'.repeat(bytes - (base.length - 1));
  if (Buffer.byteLength(name) !== bytes + 1) throw new Error(`cannot make a name of ${bytes} bytes`);
  made.add(name);
  return name;
}

/** The robust ledger beside the semaphore `name` (robust: true). */
function ledgerPath(name) {
  return `/dev/shm/psem.${name.replace(/^\//, '')}`;
}

/** true when the robust ledger of `name` exists. */
function ledgerExists(name) {
  return fs.existsSync(ledgerPath(name));
}

/**
 * The holders in the robust ledger of `name`, as { pid, units, alive },
 * read without claiming a slot or recovering anything; [] when it has no ledger.
 */
function ledgerHolders(name) {
  const { native } = require('../dist/binding');
  const result = native.ledgerHolders(name);
  if (typeof result === 'number') {
    if (result === require('node:os').constants.errno.ENOENT) return [];
    throw new Error(`ledgerHolders(${name}): errno ${result}`);
  }
  return result.map(([pid, units, alive]) => ({ pid, units, alive }));
}

module.exports = {
  Semaphore,
  uniqueName,
  uniqueNameOfLength,
  unlinkAll,
  leftovers,
  exists,
  ledgerPath,
  ledgerExists,
  ledgerHolders,
  mappings,
  run,
  runToEnd,
  failure,
  FIXTURES,
};
