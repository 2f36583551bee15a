'use strict';
// The memory-measuring half shared by test/fixtures/memory-cycles.js and
// robust-cycles.js (in the child) and memory.test.js and robust-memory.test.js
// (reading what the child printed).
const fs = require('node:fs');

const MB = 1024 * 1024;

/**
 * RSS, V8 heap, external memory, the process's mappings of /dev/shm and its
 * open file descriptors, after a full GC; plus `extra()`'s fields.
 */
function sample(extra = () => ({})) {
  for (let i = 0; i < 3; i++) global.gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  const maps = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/dev/shm/')).length;
  const fds = fs.readdirSync('/proc/self/fd').length;
  return { rss, heapUsed, external, maps, fds, ...extra() };
}

/** One turn of the event loop (finalisers get to run). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

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
      samples.push({ at: i, ...sample(extra) });
    }
    await step(i);
  }
  await turn();
  await turn();
  samples.push({ at: cycles, ...sample(extra) });
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
    `heap ${mb(first.heapUsed)} → ${mb(last.heapUsed)}, /dev/shm mappings ${first.maps} → ${last.maps}, fds ${first.fds} → ${last.fds}`;
  if (first.ledgerSize !== undefined) line += `, ledger ${first.ledgerSize} → ${last.ledgerSize} bytes`;
  return line;
}

module.exports = { MB, sample, turn, measure, growth, report };
