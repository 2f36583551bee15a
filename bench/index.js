'use strict';
// `npm run bench`: builds the C program, the empty addon and the original
// package (once, into bench/.cache/), runs every measurement in a fresh
// process, one after the other, and prints one Markdown table: the
// operation, posix-semaphore, each peer, the ratio and the target.
//
//   node bench/index.js                 everything
//   node bench/index.js sync-pair ...   only these measurements
//   node bench/index.js --baseline[=REV] ...
//                                        also measure this package as built at
//                                        REV (default: where this branch left
//                                        main) and print it beside: "today" / "now"
//   --chart[=FILE], --no-chart           the compared rows as a bar chart (bench/lib/chart.js):
//                                        a full run writes docs/benchmarks.svg unless --no-chart;
//                                        a run of chosen measurements writes none unless --chart
//                                        (so that a partial run does not replace the full picture)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runMeasurement } = require('./lib/common');
const { buildAll, buildBaseline, CACHE, COMPAT, log } = require('./lib/build');
const { chart } = require('./lib/chart');
const { rowsOf, comparison, table, ns, ms } = require('./lib/rows');

const CHART = path.join(__dirname, '..', 'docs', 'benchmarks.svg');

const MEASUREMENTS = [
  { name: 'sync-pair' },
  { name: 'async-pair' },
  { name: 'robust' },
  { name: 'tracing' },
  { name: 'pingpong' },
  { name: 'wakeup' },
  { name: 'contended' },
  { name: 'loop-delay' },
  { name: 'memory', nodeArgs: ['--expose-gc'] },
  { name: 'threadpool' },
];

function notesOf(results, built) {
  const notes = [];
  const o = built.original;
  if (/^npm pack failed/.test(o.published.reason || '')) {
    notes.push(`The original posix-semaphore ${o.version} could not be fetched (${o.published.reason}), so its column is n/a.`);
  } else if (!o.published.ok) {
    const removed = [
      ...new Set(
        (o.published.reason || '')
          .split('\n')
          .map((l) => (l.match(/call to ‘([^’(]+)/) || [])[1])
          .filter(Boolean),
      ),
    ];
    notes.push(
      `The original posix-semaphore ${o.version} (npm) does not build on Node ${process.versions.node} as published: ` +
        (removed.length
          ? `it calls V8 APIs removed in V8 7 / Node 12 (${removed.map((f) => `\`${f}()\``).join(', ')} without a context or isolate)`
          : o.published.reason) +
        (o.patched.ok
          ? `. Its column is that tarball built with nan after ${COMPAT.length} mechanical renames in its constructor and module init only ` +
            `(${COMPAT.map((c) => c.label).join(', ')}), the same kind of change its upstream HEAD made; its acquire()/release() code is unchanged.`
          : `; the compat-patched build failed too (${o.patched.reason}), so its column is n/a.`),
    );
  }
  const s = results['sync-pair'];
  if (s) {
    notes.push(
      `posix-semaphore's two native calls without its JS layer (\`tryWait\`+\`post\` on the binding) take ${ns(s.results['native tryWait+post'].median)} ns: ` +
        'the JS wrapper costs nothing measurable; the gap to the C pair is the two Node-API calls.',
    );
  }
  const p = results.pingpong;
  if (p && p.results.twoCpus) {
    const c = p.results.twoCpus.C.samples;
    notes.push(
      'Ping-pong: with both processes on one CPU (taskset) a round trip is two context switches plus the calls, which is what the code costs, ' +
        'and where the targets are judged. With one CPU each, waking a process on the other, idle, vCPU costs tens of µs in this VM ' +
        `(C samples ${Math.min(...c).toFixed(0)}–${Math.max(...c).toFixed(0)} µs), more than the code, and Node's own threads keeping its CPU awake ` +
        'can even make it beat C; left to the scheduler, the placement flips between the two from run to run. ' +
        "The async round trip there is far below C's because acquire() keeps trying for up to 20 µs (yielding the CPU) before it waits: " +
        'the answer comes within that, so neither vCPU goes idle and no wake-up is paid. sync wait() and C block at once.',
    );
  }
  if (results.contended) {
    notes.push(
      'Contended: each process runs acquire, one increment, release. POSIX semaphores are not fair, so with so short a critical section the holder ' +
        'usually takes the unit again before a waiter wakes, and most operations stay on the uncontended path: that is the throughput a short ' +
        'critical section gets. Peers at their fastest settings: proper-lockfile `lock(file, { realpath: false, retries: { retries: 10000, factor: 1, ' +
        'minTimeout: 1, maxTimeout: 1 } })`; redis-semaphore `new Mutex(ioredis, key, { retryInterval: 1, refreshInterval: 0 })`, one client per ' +
        'process, against a redis-server on 127.0.0.1 (no persistence) that the bench starts and stops.',
    );
  }
  if (results.tracing) {
    notes.push(
      'Tracing: "no subscriber" runs before any subscriber has existed in the process; "with a subscriber" after one counting handler was ' +
        'subscribed to every event of both channels (and kept, as an APM tool does). The untraced inner calls are the pair without the ' +
        '`hasSubscribers` check. A subscriber that comes and goes many times makes V8 deoptimise the check each time (the channels change prototype).',
    );
  }
  const l = results['loop-delay'];
  if (l) {
    notes.push(
      `Event-loop delay: monitorEventLoopDelay({ resolution: 1 }) reports the time between its 1 ms timer ticks, so an idle loop reads about 1.1 ms. ` +
        `The 1,000 acquire() calls waited ${ms(l.results.waitedMs)} ms, then drained in ${ms(l.results.drainMs)} ms after the holder posted.`,
    );
  }
  for (const r of Object.values(results)) notes.push(...(r.notes || []));
  return notes;
}

function machine() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0].model.trim()}, Linux ${os.release()}, Node ${process.version}, load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`;
}

async function mainRun() {
  const args = process.argv.slice(2);
  const baselineArg = args.find((a) => /^--baseline(=|$)/.test(a));
  const chartArg = args.find((a) => /^--(no-)?chart(=|$)/.test(a));
  const only = args.filter((a) => a !== baselineArg && a !== chartArg);
  const chosen = only.length ? MEASUREMENTS.filter((m) => only.includes(m.name)) : MEASUREMENTS;
  if (only.length && chosen.length !== only.length) throw new Error(`unknown measurement; choose from ${MEASUREMENTS.map((m) => m.name).join(', ')}`);
  const t0 = Date.now();
  const before = machine();
  const built = buildAll();
  const baseline = baselineArg && buildBaseline(baselineArg.split('=')[1]);
  const results = {};
  const todays = {};
  for (const m of chosen) {
    // Today's build and this one in turn, so that both see the same load.
    if (baseline) {
      log(`${m.name} (today: ${baseline.sha})...`);
      todays[m.name] = await runMeasurement(path.join(__dirname, `${m.name}.js`), { nodeArgs: m.nodeArgs, env: { BENCH_PACKAGE: baseline.dir } });
    }
    log(`${m.name}...`);
    results[m.name] = await runMeasurement(path.join(__dirname, `${m.name}.js`), { nodeArgs: m.nodeArgs });
  }
  const after = machine();
  fs.mkdirSync(CACHE, { recursive: true });
  fs.writeFileSync(path.join(CACHE, 'last-run.json'), JSON.stringify({ before, after, results, baseline, todays }, null, 2));

  const bars = [];
  const rows = rowsOf(results, bars);
  const out = [
    `Machine: ${before}; at the end: load average ${after.split('load average ')[1]}. ${((Date.now() - t0) / 1e3).toFixed(0)} s.`,
    'Medians of repeated runs; ratio = posix-semaphore ÷ peer (lower is better for ns and µs, higher for ops/s).',
    '',
    table(rows),
    '',
    ...notesOf(results, built).map((n) => `- ${n}`),
  ];
  if (baseline) {
    out.push(
      '',
      `Today (${baseline.sha}, built from git) beside now (this checkout), measured in turn in the same run:`,
      '',
      table(comparison(results, todays), ['operation', 'case / peer', 'today', 'now', 'target (today)', 'target (now)']),
    );
  }
  console.log(out.join('\n'));

  // A full run redraws docs/benchmarks.svg; a partial one only when asked, so that fewer rows do not replace the full picture.
  let chartFile = only.length ? undefined : CHART;
  if (chartArg?.startsWith('--no-chart')) chartFile = undefined;
  else if (chartArg) chartFile = path.resolve(chartArg.split('=')[1] || CHART);
  if (chartFile && bars.length) {
    const caption = [
      `${before.split(', load average')[0]}; ${new Date().toISOString().slice(0, 10)}; load average ${before.split('load average ')[1]} at the start.`,
      `Drawn by node bench/index.js${only.length ? ` ${only.join(' ')}` : ''} (npm run bench draws it again); the table and its notes: docs/benchmarks.md.`,
    ];
    fs.writeFileSync(chartFile, chart(bars, { title: 'posix-semaphore against its peers', caption }));
    log(`chart: ${chartFile} (${bars.length} compared rows)`);
  } else if (!chartFile && chartArg === undefined && bars.length) {
    log(`no chart: a run of chosen measurements leaves ${path.relative(process.cwd(), CHART)} alone; pass --chart[=FILE] to draw one`);
  }
}

mainRun().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
