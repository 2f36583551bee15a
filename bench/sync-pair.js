'use strict';
// (1) Uncontended sync wait()+post() pair, ns: this package beside the same
// pair in C, two empty Node-API calls, and the original package's pair.
const { execFileSync } = require('node:child_process');
const { Semaphore, uniqueName, interleave, timedLoop, median, main } = require('./lib/common');
const { buildAll } = require('./lib/build');

const N = 1_000_000;
const ROUNDS = 9;

async function measure() {
  const built = buildAll();
  const sem = new Semaphore(uniqueName('pair'));
  const handle = sem['handle']; // the External, passed to the empty calls
  // The bound native calls, without the JS wrapper around them.
  const nativeTryWait = sem['nativeTryWait'];
  const nativePost = sem['nativePost'];
  const empty = require(built.empty);
  const candidates = {
    'posix-semaphore': timedLoop(() => {
      sem.wait();
      sem.post();
    }),
    'native tryWait+post': timedLoop(() => {
      nativeTryWait();
      nativePost();
    }),
    'empty node-addon-api x2': timedLoop(() => {
      empty.noop(handle);
      empty.noop(handle);
    }),
    'empty raw N-API x2': timedLoop(() => {
      empty.noopRaw(handle);
      empty.noopRaw(handle);
    }),
  };
  let original;
  const { patched, published } = built.original;
  const originalAddon = published.ok ? published.addon : patched.ok ? patched.addon : undefined;
  if (originalAddon) {
    const { Semaphore: OriginalSemaphore } = require(originalAddon);
    // (name, strict, debug, silent, retryOnEintr): its close() also unlinks.
    // It can append a stray byte to the name, which sem_open may refuse: then
    // its column is n/a for this run.
    try {
      original = new OriginalSemaphore(uniqueName('original'), true, false, true, false);
    } catch (err) {
      console.error(`[bench] the original ${built.original.version} failed to open a semaphore: ${err.message}`);
    }
  }
  if (original) {
    candidates.original = timedLoop(() => {
      original.acquire();
      original.release();
    });
  }
  const results = await interleave(candidates, { n: N, rounds: ROUNDS });
  if (original) original.close();
  sem.close();

  const out = execFileSync(built.c, ['pair', String(N * 10), String(ROUNDS)], { encoding: 'utf8' });
  const c = out.trim().split('\n').map(Number);
  results.C = { median: median(c), samples: c };
  return { results, original: built.original };
}

main(module, measure);
