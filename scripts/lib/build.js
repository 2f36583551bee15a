'use strict';
// Building the addon somewhere other than this checkout: in a temporary copy
// of the package (the prebuilds, the variant builds of the tests: wall
// clock, macOS paths), or in a directory prepared by the caller (the
// bench's baseline and peers, the ASan build). The one place that knows how
// to run node-gyp here: with this node's headers when they are installed
// beside it, so that nothing is downloaded.
//
//   node scripts/lib/build.js node-gyp DIR
//     Runs `node-gyp rebuild` in DIR, with the environment it is given
//     (CXX, CXXFLAGS, LDFLAGS...): what scripts/asan.sh runs.
//
// Builds run in a copy, never in this checkout: prebuildify rebuilds build/
// and moves the addon out of build/Release, under the feet of any test of
// this checkout that loads it meanwhile.
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const ROOT = path.join(__dirname, '..', '..');

const execFileP = promisify(execFile);

/** execFile as a promise of { stdout, stderr }; a failure's message carries both. */
async function sh(file, args, options = {}) {
  try {
    return await execFileP(file, args, { maxBuffer: 16 << 20, ...options });
  } catch (err) {
    err.message += `\nstdout: ${err.stdout}\nstderr: ${err.stderr}`;
    throw err;
  }
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

/** The argv (after node) of `node-gyp rebuild`, with the local headers when there are some. */
function nodeGypArgs(extra = []) {
  const nodedir = localNodedir();
  return [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', ...extra, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
}

/** Runs `node-gyp rebuild` in `dir`; `env` defaults to this process's. */
function nodeGyp(dir, { env = process.env, loglevel = 'warn' } = {}) {
  return sh(process.execPath, nodeGypArgs([`--loglevel=${loglevel}`]), { cwd: dir, env });
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
  await nodeGyp(copy, { env: { ...process.env, CXXFLAGS: defines.map((d) => `-D${d}`).join(' ') } });
  return copy;
}

module.exports = { ROOT, sh, localNodedir, cleanEnv, nodeGypArgs, nodeGyp, stageCopy, buildVariant };

if (require.main === module) {
  const [command, dir] = process.argv.slice(2);
  if (command !== 'node-gyp' || !dir) {
    console.error('usage: node scripts/lib/build.js node-gyp DIR');
    process.exitCode = 2;
  } else {
    // Output straight through: a compiler error is read by a person.
    const child = require('node:child_process').spawnSync(process.execPath, nodeGypArgs(['--loglevel=warn']), { cwd: dir, stdio: 'inherit' });
    process.exitCode = child.status ?? 1;
  }
}
