'use strict';
// Builds what the benchmarks compare against, at bench time, into the
// gitignored bench/.cache/: the C program, the empty Node-API addon, and the
// original posix-semaphore from its npm tarball. Each build is done once and
// reused while its sources and the Node version stay the same.
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { nodeGypArgs } = require('../../scripts/lib/build');

const ROOT = path.join(__dirname, '..', '..');
const NATIVE = path.join(__dirname, '..', 'native');
const CACHE = path.join(__dirname, '..', '.cache');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const ORIGINAL_VERSION = '0.0.2';

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  return { ok: r.status === 0, status: r.status, out: `${r.stdout || ''}${r.stderr || ''}`, error: r.error };
}

function hash(parts) {
  const h = crypto.createHash('sha1');
  for (const part of parts) h.update(part);
  return h.digest('hex').slice(0, 12);
}

function keyOf(files) {
  return hash([process.version, process.arch, ...files.map((f) => fs.readFileSync(f))]);
}

// node-gyp with the headers of this Node where they are installed beside it
// (scripts/lib/build.js); its whole output is kept for compileErrors().
function nodeGyp(cwd) {
  const env = { ...process.env, NODE_PATH: NODE_MODULES }; // for require('nan') / require('node-addon-api') in binding.gyp
  return run(process.execPath, nodeGypArgs(), { cwd, env });
}

function compileErrors(out) {
  return [
    ...new Set(
      out
        .split('\n')
        .filter((l) => /error:/.test(l))
        .map((l) => l.trim()),
    ),
  ];
}

/** The C program (bench/native/semaphore.c) built with cc -O2; returns its path. */
function buildC() {
  const source = path.join(NATIVE, 'semaphore.c');
  const binary = path.join(CACHE, `c-${keyOf([source])}`, 'semaphore');
  if (fs.existsSync(binary)) return binary;
  log('building the C program (cc -O2)');
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const r = run(process.env.CC || 'cc', ['-O2', '-o', binary, source, '-pthread']);
  if (!r.ok) throw new Error(`cc failed:\n${r.out}`);
  return binary;
}

/** The empty addon (bench/native/empty.cc) built with node-gyp; returns its .node path. */
function buildEmptyAddon() {
  const files = ['empty.cc', 'binding.gyp'].map((f) => path.join(NATIVE, f));
  const dir = path.join(CACHE, `empty-${keyOf(files)}`);
  const addon = path.join(dir, 'build', 'Release', 'empty.node');
  if (fs.existsSync(addon)) return addon;
  log('building the empty Node-API addon (node-gyp)');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.copyFileSync(f, path.join(dir, path.basename(f)));
  const r = nodeGyp(dir);
  if (!r.ok) throw new Error(`node-gyp failed for the empty addon:\n${compileErrors(r.out).join('\n') || r.out}`);
  return addon;
}

// The original 0.0.2 uses V8 calls that V8 7 (Node 12) removed, all in its
// constructor and module init; its acquire()/release() compile as they are.
// The same kind of change its upstream HEAD made; nothing else is touched.
const COMPAT = [
  { from: /tpl->GetFunction\(\)/g, to: 'Nan::GetFunction(tpl).ToLocalChecked()', count: 2, label: 'GetFunction() → Nan::GetFunction' },
  { from: /info\[(\d)\]->BooleanValue\(\)/g, to: 'Nan::To<bool>(info[$1]).FromJust()', count: 4, label: 'BooleanValue() → Nan::To<bool>' },
  {
    from: /v8::String::Utf8Value str\(info\[0\]->ToString\(\)\);/g,
    to: 'Nan::Utf8String str(info[0]);',
    count: 1,
    label: 'Utf8Value(ToString()) → Nan::Utf8String',
  },
  { from: /exports->Set\(/g, to: 'Nan::Set(exports, ', count: 1, label: 'Object::Set(key, value) → Nan::Set' },
];

function patchOriginal(dir) {
  const file = path.join(dir, 'srcs', 'semaphore.cc');
  let text = fs.readFileSync(file, 'utf8');
  for (const { from, to, count } of COMPAT) {
    const found = (text.match(from) || []).length;
    if (found !== count) return `compat rename ${from} matched ${found} times, expected ${count}`;
    text = text.replace(from, to);
  }
  fs.writeFileSync(file, text);
  return undefined;
}

/**
 * The original posix-semaphore, fetched with `npm pack posix-semaphore@0.0.2`
 * and built with node-gyp and nan: first as published, then (if that fails)
 * with the COMPAT renames. Returns
 * { version, published: { ok, reason }, patched: { ok, addon, reason } }.
 */
function buildOriginal() {
  const base = path.join(CACHE, `original-${ORIGINAL_VERSION}`);
  const statusFile = path.join(base, `status-${keyOf([__filename])}.json`);
  if (fs.existsSync(statusFile)) {
    const status = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
    if (!status.patched.ok || fs.existsSync(status.patched.addon)) return status;
  }
  const status = { version: ORIGINAL_VERSION, published: { ok: false }, patched: { ok: false } };
  fs.mkdirSync(base, { recursive: true });
  const tarball = path.join(base, `posix-semaphore-${ORIGINAL_VERSION}.tgz`);
  if (!fs.existsSync(tarball)) {
    log(`fetching posix-semaphore@${ORIGINAL_VERSION} (npm pack)`);
    const r = run('npm', ['pack', `posix-semaphore@${ORIGINAL_VERSION}`, '--pack-destination', base, '--silent']);
    if (!r.ok || !fs.existsSync(tarball)) {
      status.published.reason = status.patched.reason = `npm pack failed: ${r.out.trim().split('\n').pop()}`;
      return status; // not cached: try again next run
    }
  }
  for (const variant of ['published', 'patched']) {
    const dir = path.join(base, variant);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    const x = run('tar', ['xzf', tarball, '-C', dir, '--strip-components=1']);
    if (!x.ok) throw new Error(`tar failed: ${x.out}`);
    if (variant === 'patched') {
      if (status.published.ok) {
        status.patched = { ok: false, reason: 'not needed: the published package builds' };
        break;
      }
      const why = patchOriginal(dir);
      if (why) {
        status.patched.reason = why;
        break;
      }
    }
    log(`building the original ${ORIGINAL_VERSION} ${variant === 'published' ? 'as published' : 'with the compat renames'} (node-gyp, nan)`);
    const r = nodeGyp(dir);
    const addon = path.join(dir, 'build', 'Release', 'addon.node');
    if (r.ok && fs.existsSync(addon)) {
      status[variant] = { ok: true, addon };
    } else {
      const errors = compileErrors(r.out);
      status[variant] = { ok: false, reason: errors.length ? errors.join('\n') : r.out.trim().split('\n').slice(-5).join('\n') };
    }
  }
  fs.writeFileSync(statusFile, JSON.stringify(status, null, 2));
  return status;
}

/**
 * This package as it was at git revision `rev` (default: where this branch
 * left main), built into bench/.cache/baseline-<sha>/ with node-gyp and tsc,
 * for the "today" column of bench/index.js --baseline. Returns
 * { rev, sha, dir } (dir: what to require).
 */
function buildBaseline(rev) {
  const git = (...args) => run('git', ['-C', ROOT, ...args]);
  if (!rev) {
    const base = git('merge-base', 'HEAD', 'main');
    if (!base.ok) throw new Error(`no baseline: git merge-base HEAD main failed: ${base.out}`);
    rev = base.out.trim();
  }
  const parsed = git('rev-parse', '--short=12', `${rev}^{commit}`);
  if (!parsed.ok) throw new Error(`no baseline: ${rev} is not a commit: ${parsed.out}`);
  const sha = parsed.out.trim();
  const dir = path.join(CACHE, `baseline-${sha}`);
  const done = path.join(dir, `built-${process.version}`);
  if (fs.existsSync(done)) return { rev, sha, dir };
  log(`building the baseline ${rev} (${sha}): git archive, node-gyp, tsc`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const archive = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', sha, 'package.json', 'binding.gyp', 'tsconfig.json', 'native', 'src']);
  if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
  const x = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (x.status !== 0) throw new Error(`tar failed: ${x.stderr}`);
  fs.symlinkSync(NODE_MODULES, path.join(dir, 'node_modules'));
  const g = nodeGyp(dir);
  if (!g.ok) throw new Error(`node-gyp failed for the baseline:\n${compileErrors(g.out).join('\n') || g.out}`);
  const t = run(process.execPath, [path.join(NODE_MODULES, 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir });
  if (!t.ok) throw new Error(`tsc failed for the baseline:\n${t.out}`);
  fs.writeFileSync(done, '');
  return { rev, sha, dir };
}

/** Builds everything; never throws for the original (its status says why). */
function buildAll() {
  return { c: buildC(), empty: buildEmptyAddon(), original: buildOriginal() };
}

module.exports = { CACHE, ORIGINAL_VERSION, COMPAT, buildC, buildEmptyAddon, buildOriginal, buildBaseline, buildAll, log };

if (require.main === module) console.log(JSON.stringify(buildAll(), null, 2));
