'use strict';
// The prebuilds that ship in the tarball: which ones there must be, whether
// each is fresh (newer than binding.gyp and native/), building one with
// prebuildify in a copy of the package, and the symbol versions a binary
// needs. scripts/prebuilds.js is its command line; test:arm64 and the pack
// test use it too.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, sh, cleanEnv, stageCopy } = require('./build');

const PREBUILDS = path.join(ROOT, 'prebuilds');
/** What `npm publish` must ship: the platforms whose users get no compiler prompt. */
const RELEASE_TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64'];
/** What each cross-compiled target needs here (Debian package names). */
const CROSS_NEEDS = { 'linux-arm64': 'g++-aarch64-linux-gnu', 'win32-x64': 'g++-mingw-w64-x86-64' };
/** The cross toolchain for linux-arm64 (Debian: g++-aarch64-linux-gnu). */
const CROSS_ARM64 = {
  CC: 'aarch64-linux-gnu-gcc',
  CXX: 'aarch64-linux-gnu-g++',
  LINK: 'aarch64-linux-gnu-g++',
  AR: 'aarch64-linux-gnu-ar',
  PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip',
};

/** Every file the addon is built from. */
function sources(root = ROOT) {
  const files = [path.join(root, 'binding.gyp')];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else files.push(file);
    }
  };
  walk(path.join(root, 'native'));
  return files;
}

/** The newest modification time of the addon's sources, in ms. */
function sourcesTime(root = ROOT) {
  return Math.max(...sources(root).map((f) => fs.statSync(f).mtimeMs));
}

/** The .node files of prebuilds/<target>, or [] when there is none. */
function prebuildFiles(target, root = ROOT) {
  const dir = path.join(root, 'prebuilds', target);
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.node'))
        .map((f) => path.join(dir, f))
    : [];
}

/** 'missing', 'stale' (older than binding.gyp or native/) or 'fresh'. */
function prebuildState(target, root = ROOT) {
  const files = prebuildFiles(target, root);
  if (files.length === 0) return 'missing';
  const newest = sourcesTime(root);
  return files.every((f) => fs.statSync(f).mtimeMs >= newest) ? 'fresh' : 'stale';
}

function hostTarget() {
  return `${process.platform}-${process.arch}`;
}

function haveCommand(command) {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Whether this machine can cross-compile the linux-arm64 prebuild. */
function canCrossArm64() {
  return process.platform === 'linux' && process.arch !== 'arm64' && haveCommand(CROSS_ARM64.CXX);
}

/**
 * Runs prebuildify for `target` ('linux-x64', 'linux-arm64') in a copy
 * and moves the result into this checkout's prebuilds/<target>; win32-x64
 * is cross-compiled by scripts/lib/win32.js.
 */
async function buildPrebuild(target) {
  if (target === 'win32-x64' && process.platform !== 'win32') return require('./win32').buildWin32Prebuild(); // mingw-w64, not node-gyp
  const arch = target.split('-')[1];
  const cross = arch === 'arm64' && process.arch !== 'arm64' ? CROSS_ARM64 : {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `posix-semaphore-prebuild-${target}-`));
  try {
    const stage = stageCopy(path.join(work, 'package'));
    const bin = require.resolve('prebuildify/bin.js');
    await sh(process.execPath, [bin, '--napi', '--strip', '--tag-libc', `--arch=${arch}`], { cwd: stage, env: cleanEnv(cross) });
    const built = path.join(stage, 'prebuilds', target);
    const dest = path.join(PREBUILDS, target);
    fs.mkdirSync(dest, { recursive: true });
    for (const f of prebuildFiles(target)) fs.rmSync(f, { force: true });
    for (const f of fs.readdirSync(built)) {
      // Copy, then rename: a concurrent reader never sees half a file.
      const tmp = path.join(dest, `.${f}.${process.pid}`);
      fs.copyFileSync(path.join(built, f), tmp);
      fs.renameSync(tmp, path.join(dest, f));
    }
    return prebuildFiles(target);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Problems that forbid packing (or, with `release`, publishing); [] when there is none. */
function problems({ release = false } = {}) {
  const found = [];
  const required = new Set([hostTarget(), ...(release ? RELEASE_TARGETS : [])]);
  const present = fs.existsSync(PREBUILDS) ? fs.readdirSync(PREBUILDS).filter((d) => prebuildFiles(d).length > 0) : [];
  for (const target of new Set([...required, ...present])) {
    const state = prebuildState(target);
    if (state === 'missing' && required.has(target)) {
      found.push(`prebuilds/${target} is missing${CROSS_NEEDS[target] ? ` (it needs ${CROSS_NEEDS[target]} to cross-compile)` : ''}`);
    }
    if (state === 'stale') found.push(`prebuilds/${target} is older than binding.gyp or native/: rebuild it (npm run prebuild)`);
  }
  return found;
}

/** The newest GLIBC, GLIBCXX and CXXABI symbol versions a binary needs (objdump -T). */
async function newestVersions(file, objdump = 'objdump') {
  const { stdout } = await sh(objdump, ['-T', file]);
  const newest = {};
  for (const [, family, version] of stdout.matchAll(/\((GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)/g)) {
    if (newest[family] === undefined || compareVersions(version, newest[family]) > 0) newest[family] = version;
  }
  return newest;
}

function compareVersions(a, b) {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

module.exports = {
  CROSS_ARM64,
  RELEASE_TARGETS,
  sources,
  prebuildFiles,
  prebuildState,
  hostTarget,
  canCrossArm64,
  buildPrebuild,
  problems,
  newestVersions,
  compareVersions,
};
