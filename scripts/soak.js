#!/usr/bin/env node
'use strict';
// The soak (scripts/lib/soak.js), from the command line: N processes
// (default 4) hammer one semaphore with a random mix of every kind of wait;
// never more than `value` holders inside at once, no update lost, and the
// initial value back at the end.
//
//   npm run soak                          # 4 processes × 25,000 operations, value 1 then 3
//   node scripts/soak.js --ops 2000 --values 1,2,3 --processes 4 --seed 42 [--json]
//
// Exit status 0 when every run has 0 violations, 0 lost updates and its
// initial value back; 1 otherwise (a stall of 15 s counts as a deadlock).
const { soak, summary } = require('./lib/soak');

function parseArgs(argv) {
  const options = { ops: 25000, processes: 4, values: [1, 3], seed: Date.now() >>> 0, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined || !/^\d+(,\d+)*$/.test(v)) throw new Error(`${arg} needs a number`);
      return v;
    };
    if (arg === '--ops') options.ops = Number(next());
    else if (arg === '--processes') options.processes = Number(next());
    else if (arg === '--values') options.values = next().split(',').map(Number);
    else if (arg === '--seed') options.seed = Number(next());
    else if (arg === '--json') options.json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node scripts/soak.js [--ops N] [--processes N] [--values 1,3] [--seed N] [--json]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

if (require.main === module) {
  (async () => {
    const options = parseArgs(process.argv.slice(2));
    let ok = true;
    if (!options.json) process.stdout.write(`soak: ${options.processes} processes × ${options.ops} operations each, seed ${options.seed}\n`);
    for (const value of options.values) {
      const report = await soak({ value, processes: options.processes, ops: options.ops, seed: options.seed });
      ok &&= report.ok;
      if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        process.stdout.write(`${summary(report)}\n`);
        const outcomes = Object.entries(report.counts)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        process.stdout.write(`  outcomes: ${outcomes}\n`);
        for (const failure of report.failures) process.stdout.write(`  ${failure}\n`);
      }
    }
    process.exitCode = ok ? 0 : 1;
  })().catch((err) => {
    process.stderr.write(`soak: ${err.stack}\n`);
    process.exitCode = 1;
  });
}
