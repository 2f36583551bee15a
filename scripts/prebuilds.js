'use strict';
// The prebuilds that ship in the tarball, and the one helper that builds the
// addon in a copy of the package (prebuilds, and the variant builds of the
// tests: wall clock, macOS paths).
//
//   node scripts/prebuilds.js build [--release]
//     Makes prebuilds/linux-<this arch> (prebuildify --napi --strip
//     --tag-libc) and, on x64 with aarch64-linux-gnu-g++ installed,
//     prebuilds/linux-arm64 (cross-compiled), each only when missing or
//     older than binding.gyp and native/; then checks as below. prepack and
//     prepublishOnly run it.
//   node scripts/prebuilds.js check [--release]
//     Exits 1, saying why, when this machine's prebuild is missing, when any
//     prebuild is older than binding.gyp or native/, or (--release, for
//     `npm publish`) when linux-x64 or linux-arm64 is missing.
//
// Builds run in a copy of the package, never in this checkout: prebuildify
// rebuilds build/ and moves the addon out of build/Release, under the feet
// of any test of this checkout that loads it meanwhile.
const { execFile, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const ROOT = path.join(__dirname, '..');
const PREBUILDS = path.join(ROOT, 'prebuilds');
/** What `npm publish` must ship: the platforms whose users get no compiler prompt. */
const RELEASE_TARGETS = ['linux-x64', 'linux-arm64'];
/** The cross toolchain for linux-arm64 (Debian: g++-aarch64-linux-gnu). */
const CROSS_ARM64 = {
  CC: 'aarch64-linux-gnu-gcc',
  CXX: 'aarch64-linux-gnu-g++',
  LINK: 'aarch64-linux-gnu-g++',
  AR: 'aarch64-linux-gnu-ar',
  PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip',
};

const execFileP = promisify(execFile);

async function sh(file, args, options = {}) {
  try {
    return await execFileP(file, args, { maxBuffer: 16 << 20, ...options });
  } catch (err) {
    err.message += `\nstdout: ${err.stdout}\nstderr: ${err.stderr}`;
    throw err;
  }
}

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
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => path.join(dir, f)) : [];
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

/** Node's headers where node-gyp finds them without a download: next to this node, if installed there. */
function localNodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const dir = path.resolve(process.execPath, '..', '..');
  return fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h')) ? dir : undefined;
}

/** The environment of a child npm or node-gyp: no npm_* of an enclosing npm run, which would steer it. */
function cleanEnv(extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const nodedir = localNodedir();
  return { ...env, ...(nodedir ? { npm_config_nodedir: nodedir } : {}), ...extra };
}

/**
 * A copy of what the addon is built from (package.json, binding.gyp,
 * native/, and dist/ when `dist` is set, so that the copy loads as the
 * package), with this checkout's node_modules linked in. Returns its path.
 */
function stageCopy(dir, { dist = false } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  for (const d of dist ? ['native', 'dist'] : ['native']) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/**
 * A variant of the addon (`defines`: preprocessor macros, e.g.
 * ['POSIX_SEMAPHORE_NO_CLOCKWAIT']) built into build/Release of a fresh copy
 * of the package under os.tmpdir(). Returns the copy's path; remove it when done.
 */
async function buildVariant(label, defines) {
  const copy = stageCopy(fs.mkdtempSync(path.join(os.tmpdir(), `posix-semaphore-${label}-`)), { dist: true });
  const args = [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', '--loglevel=warn'];
  const nodedir = localNodedir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  await sh(process.execPath, args, {
    cwd: copy,
    env: { ...process.env, CXXFLAGS: defines.map((d) => `-D${d}`).join(' ') },
  });
  return copy;
}

/**
 * Runs prebuildify for `target` ('linux-x64', 'linux-arm64') in a copy
 * and moves the result into this checkout's prebuilds/<target>.
 */
async function buildPrebuild(target) {
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
      found.push(`prebuilds/${target} is missing${target === 'linux-arm64' ? ' (it needs g++-aarch64-linux-gnu to cross-compile)' : ''}`);
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

async function main(argv) {
  const [command, ...flags] = argv;
  const release = flags.includes('--release');
  if (command !== 'build' && command !== 'check') {
    console.error('usage: node scripts/prebuilds.js build|check [--release]');
    return 2;
  }
  if (command === 'build') {
    const targets = [hostTarget()];
    if (canCrossArm64()) targets.push('linux-arm64');
    else if (process.arch !== 'arm64') console.error('posix-semaphore: no aarch64-linux-gnu-g++, so no linux-arm64 prebuild is built (arm64 users will compile)');
    for (const target of targets) {
      const state = prebuildState(target);
      if (state === 'fresh') continue;
      const started = Date.now();
      const files = await buildPrebuild(target);
      console.error(`posix-semaphore: built ${files.map((f) => path.relative(ROOT, f)).join(', ')} (${state} before) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  const found = problems({ release });
  if (found.length > 0) {
    console.error(`posix-semaphore: refusing to ${release ? 'publish' : 'pack'}:\n${found.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  return 0;
}

module.exports = {
  ROOT,
  CROSS_ARM64,
  sh,
  sources,
  prebuildFiles,
  prebuildState,
  canCrossArm64,
  cleanEnv,
  stageCopy,
  buildVariant,
  buildPrebuild,
  problems,
  newestVersions,
  compareVersions,
};

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`posix-semaphore: ${err.message}`);
      process.exitCode = 1;
    },
  );
}
