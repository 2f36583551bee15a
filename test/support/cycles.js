'use strict';
// The memory-measuring half shared by test/fixtures/memory-cycles.js and
// robust-cycles.js (in the child) and memory.test.js and robust-memory.test.js
// (reading what the child printed).
const fs = require('node:fs');
const { native } = require('../../dist/binding');

const MB = 1024 * 1024;

// Opening handles by the hundred thousand, RSS says more about Node than about
// us: each handle is an External and two bound functions, and Node-API's
// bookkeeping for them (v8impl::Reference, freed a GC or more after the
// object: valgrind's massif) grows glibc's heap in steps until some 200,000-
// 300,000 cycles on Node 22 and later, then stays flat to 1,000,000 (Node 26:
// ~130 MB outside the V8 heap; Node 20: ~50 MB, reached by 30,000). The second
// half grew up to 9.6 MB in CI on Node 26 (100,000 cycles) and 22 MB over
// 200,000 on a loaded machine. So the leak check for handle churn is exact
// where it is ours (native handles, mappings, fds, each equal at every
// sample), and RSS only catches a large leak (over ~300 bytes a cycle).
const HANDLE_CHURN_RSS = 32 * MB;

/** One turn of the event loop (finalisers get to run). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * RSS, V8 heap, external memory, the handles that exist natively
 * (native.liveHandles(): not yet finalised), the process's mappings of
 * /dev/shm and its open file descriptors, after full GCs whose finalisers
 * had their turn; plus `extra()`'s fields.
 */
async function sample(extra = () => ({})) {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await turn(); // Node-API finalisers may run in a later turn (Node 22 on)
  }
  const handles = native.liveHandles();
  const { rss, heapUsed, external } = process.memoryUsage();
  const maps = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/dev/shm/')).length;
  const fds = fs.readdirSync('/proc/self/fd').length;
  return { rss, heapUsed, external, handles, maps, fds, ...extra() };
}

/**
 * Runs `step(i)` for i = 0, chunk, 2 × chunk, ... below `cycles` (each
 * awaited), sampling at every tenth of the way after letting finalisers
 * run. Returns { phase, cycles, ms, samples }.
 */
async function measure({ phase, cycles, chunk = 1, extra }, step) {
  const samples = [];
  const every = Math.max(chunk, Math.floor(cycles / 10));
  const started = Date.now();
  for (let i = 0; i < cycles; i += chunk) {
    if (i % every === 0) {
      await turn();
      samples.push({ at: i, ...(await sample(extra)) });
    }
    await step(i);
  }
  await turn();
  await turn();
  samples.push({ at: cycles, ...(await sample(extra)) });
  return { phase, cycles, ms: Date.now() - started, samples };
}

/** How much `key` grew from the half-way sample (warm-up over) to the end. */
function growth(result, key) {
  const { samples } = result;
  const half = samples.find((s) => s.at >= result.cycles / 2);
  return samples[samples.length - 1][key] - half[key];
}

/** One line for a person: the first and last samples, and the second half's RSS growth. */
function report(result) {
  const first = result.samples[0];
  const last = result.samples[result.samples.length - 1];
  const mb = (n) => `${(n / MB).toFixed(1)} MB`;
  let line =
    `${result.phase} × ${result.cycles} in ${result.ms} ms: RSS ${mb(first.rss)} → ${mb(last.rss)} (second half ${mb(growth(result, 'rss'))}), ` +
    `heap ${mb(first.heapUsed)} → ${mb(last.heapUsed)}, native handles ${first.handles} → ${last.handles}, /dev/shm mappings ${first.maps} → ${last.maps}, fds ${first.fds} → ${last.fds}`;
  if (first.ledgerSize !== undefined) line += `, ledger ${first.ledgerSize} → ${last.ledgerSize} bytes`;
  return line;
}

module.exports = { MB, HANDLE_CHURN_RSS, sample, turn, measure, growth, report };
