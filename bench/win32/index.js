'use strict';
// `npm run bench:win32`: the win32-x64 build under Wine, beside a C program
// making the same Win32 calls (bench/win32/pair.c), in one run. Wine's speed
// is not Windows', so only the ratios mean anything. Also measures the async
// path's other candidate (each wait slice an AsyncWorker on the libuv pool,
// blocked in WaitForSingleObject) beside the one shipped
// (RegisterWaitForSingleObject), which is how the shipped one was chosen.
// Needs what test:win32 needs (scripts/test-win32.js).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, sh, cleanEnv } = require('../../scripts/lib/build');
const prebuilds = require('../../scripts/lib/prebuilds');
const win32 = require('../../scripts/lib/win32');

const winPath = (p) => `Z:${path.resolve(p).replace(/\//g, '\\')}`;

/** A package directory that loads like the installed package: package.json, dist/, node-gyp-build, one win32 .node. */
function stage(dir, addon) {
  fs.mkdirSync(path.join(dir, 'prebuilds', win32.TARGET), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.cpSync(path.dirname(require.resolve('node-gyp-build/package.json')), path.join(dir, 'node_modules', 'node-gyp-build'), { recursive: true });
  fs.copyFileSync(addon, path.join(dir, 'prebuilds', win32.TARGET, 'posix-semaphore.node'));
  return dir;
}

function row(cells) {
  return `| ${cells.join(' | ')} |`;
}

async function main() {
  if (!win32.canCrossWin32() || !win32.wine()) {
    console.error('bench:win32 needs mingw-w64 and wine64 (apt-get install g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 wine64)');
    return 1;
  }
  const t0 = Date.now();
  if (prebuilds.prebuildState(win32.TARGET) !== 'fresh') await win32.buildWin32Prebuild();
  const node = await win32.windowsNode();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'posix-semaphore-bench-win32-'));
  const env = {
    ...cleanEnv(),
    WINEPREFIX: path.join(work, 'wineprefix'),
    WINEDEBUG: '-all',
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    NODE_SKIP_PLATFORM_CHECK: '1',
  };
  try {
    const pool = await win32.compileWin32(path.join(work, 'addon-pool-waits.node') /* not pool.node: require('...\\pool') would load it */, {
      extra: ['-DPOSIX_SEMAPHORE_WIN32_POOL_WAITS'],
    });
    const exe = path.join(work, 'pair.exe');
    await sh('x86_64-w64-mingw32-gcc', ['-O2', '-Wall', '-Wextra', '-o', exe, path.join(__dirname, 'pair.c')]);
    const shipped = stage(path.join(work, 'registered'), prebuilds.prebuildFiles(win32.TARGET)[0]);
    const alternative = stage(path.join(work, 'pool'), pool);
    const out = path.join(work, 'results.json');
    const run = spawnSync(
      win32.wine(),
      [
        winPath(node),
        winPath(path.join(__dirname, 'run.js')),
        winPath(out),
        winPath(exe),
        `registered=${winPath(shipped)}`,
        `pool=${winPath(alternative)}`,
      ],
      { env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (run.status !== 0 || !fs.existsSync(out))
      throw new Error(`the Windows side failed (${run.status}): ${fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : ''}`);
    const r = JSON.parse(fs.readFileSync(out, 'utf8'));
    const f = (x, digits = 0) => (x === undefined ? 'n/a' : x.toFixed(digits));
    const lines = [
      `Under Wine ${spawnSync(win32.wine(), ['--version'], { encoding: 'utf8' }).stdout.trim()}, node.exe ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}, load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}; ${((Date.now() - t0) / 1000).toFixed(0)} s. Medians of 5 rounds. Only ratios count: Wine is not Windows.`,
      '',
      row([
        'operation',
        'posix-semaphore (RegisterWaitForSingleObject, shipped)',
        'AsyncWorker on the pool (alternative)',
        'C, same Win32 calls',
        'ratio shipped ÷ C',
      ]),
      row(['---', '---:', '---:', '---:', '---:']),
      row([
        'sync pair: wait() + post(), ns',
        f(r.registered['sync pair (ns)']),
        f(r.pool['sync pair (ns)']),
        f(r.C['sync pair (ns)']),
        f(r.registered['sync pair (ns)'] / r.C['sync pair (ns)'], 1),
      ]),
      row([
        'async pair: await acquire() + release(), ns',
        f(r.registered['async pair (ns)']),
        f(r.pool['async pair (ns)']),
        f(r.C['sync pair (ns)']),
        f(r.registered['async pair (ns)'] / r.C['sync pair (ns)'], 1),
      ]),
      row([
        'round trip with a C process, wait(), µs',
        f(r.registered['round trip, wait() (µs)'], 1),
        f(r.pool['round trip, wait() (µs)'], 1),
        f(r.C['round trip, threads, WaitForSingleObject (µs)'], 1),
        f(r.registered['round trip, wait() (µs)'] / r.C['round trip, threads, WaitForSingleObject (µs)'], 1),
      ]),
      row([
        'round trip with a C process, acquire(), µs',
        f(r.registered['round trip, acquire() (µs)'], 1),
        f(r.pool['round trip, acquire() (µs)'], 1),
        f(r.C['round trip, threads, RegisterWaitForSingleObject (µs)'], 1),
        f(r.registered['round trip, acquire() (µs)'] / r.C['round trip, threads, RegisterWaitForSingleObject (µs)'], 1),
      ]),
      '',
      "C's pairs are the same calls (WaitForSingleObject(h, 0) + ReleaseSemaphore); its round trips are between two threads of one process, " +
        'the answering side blocked in WaitForSingleObject, or a RegisterWaitForSingleObject callback.',
    ];
    console.log(lines.join('\n'));
    return 0;
  } finally {
    await sh(win32.wine().includes('/') ? path.join(path.dirname(win32.wine()), 'wineserver') : 'wineserver', ['-w'], { env }).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`bench:win32: ${err.stack || err.message}`);
    process.exitCode = 1;
  },
);
