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

const CHART = path.join(__dirname, '..', 'docs', 'benchmarks.svg');

const MEASUREMENTS = [
  { name: 'sync-pair' },
  { name: 'async-pair' },
  { name: 'robust' },
  { name: 'tracing' },
  { name: 'pingpong' },
  { name: 'contended' },
  { name: 'loop-delay' },
  { name: 'memory', nodeArgs: ['--expose-gc'] },
  { name: 'threadpool' },
];

const ns = (x) => x.toFixed(1);
const us = (x) => x.toFixed(2);
const ms = (x) => x.toFixed(2);
const mib = (x) => x.toFixed(1);
function opsPerSecond(x) {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(2)} k`;
  return x.toFixed(0);
}
// Far below 1, a fraction reads better: 1/5650× rather than 0.00×.
const ratio = (x) => (x < 0.01 ? `1/${Math.round(1 / x)}×` : `${x < 10 ? x.toFixed(2) : x.toFixed(0)}×`);

// A target: its wording and whether `r` (posix-semaphore / peer) meets it.
const atMost = (limit) => (r) => ({ text: `≤ ${limit}×`, hit: r <= limit });
const atLeast = (limit) => (r) => ({ text: `≥ ${limit}×`, hit: r >= limit });

const UNIT = new Map([
  [ns, 'ns'],
  [us, 'µs'],
  [opsPerSecond, 'ops/s'],
]);

/**
 * The table's rows: [operation, posix-semaphore, peer, peer figure, ratio, target].
 * The compared ones (a figure for each side) also go into `bars`, as numbers, for the chart.
 */
function rowsOf(results, bars = []) {
  const rows = [];
  const compare = (operation, ours, peer, theirs, format, target) => {
    const r = ours / theirs;
    let t = '';
    if (target) {
      const { text, hit } = target(r);
      t = hit === undefined ? text : `${text} ${hit ? '**hit**' : '**miss**'}`;
    }
    rows.push([operation, format(ours), peer, format(theirs), ratio(r), t]);
    // The unit goes in the chart's panel heading, not in each group's.
    const unit = UNIT.get(format);
    bars.push({ operation: operation.replace(`, ${unit}`, ''), unit, ours, peer, theirs });
  };
  const note = (operation, ours, peer, theirs, target) => rows.push([operation, ours, peer, theirs, '', target || '']);

  const s = results['sync-pair'];
  if (s) {
    const r = s.results;
    const ours = r['posix-semaphore'].median;
    const op = 'sync `wait()`+`post()` pair, ns';
    compare(op, ours, 'C `sem_wait()`+`sem_post()`', r.C.median, ns);
    compare(op, ours, '2 empty Node-API calls (node-addon-api)', r['empty node-addon-api x2'].median, ns);
    compare(op, ours, 'C pair + 2 empty calls (node-addon-api)', r.C.median + r['empty node-addon-api x2'].median, ns, atMost(1.3));
    compare(op, ours, 'C pair + 2 empty calls (bare Node-API)', r.C.median + r['empty raw N-API x2'].median, ns);
    const o = s.original;
    const label = `original ${o.version} \`acquire()\`+\`release()\` (nan${o.published.ok ? '' : ', compat-patched'})`;
    if (r.original) compare(op, ours, label, r.original.median, ns, atMost(1));
    else note(op, ns(ours), `original ${o.version}`, 'n/a', 'see note');
  }
  const a = results['async-pair'];
  if (a) {
    const r = a.results;
    const ours = r['posix-semaphore'].median;
    const op = '`await acquire()`+`release()` pair, ns';
    compare(op, ours, 'async-mutex `Semaphore(1)` (in-process)', r['async-mutex'].median, ns, atMost(1));
    compare(op, ours, 'async-sema `Sema(1)` (in-process)', r['async-sema'].median, ns);
    const redis = results.contended?.results['RedisSemaphore latency'];
    if (redis) compare(op, ours, 'this package\'s `RedisSemaphore` (loopback Redis)', redis.median * 1e3, ns);
  }
  const rb = results.robust;
  if (rb) {
    const { sync, async: asyncPair } = rb.results;
    compare('robust sync `wait()`+`post()` pair, ns', sync.robust.median, 'plain handle, same run', sync.plain.median, ns, atMost(1.5));
    compare('robust `await acquire()`+`release()` pair, ns', asyncPair.robust.median, 'plain handle, same run', asyncPair.plain.median, ns, atMost(1.5));
  }
  const tr = results.tracing;
  if (tr) {
    for (const [key, op] of [
      ['sync', 'sync `wait()`+`post()` pair, tracing, ns'],
      ['async', '`await acquire()`+`release()` pair, tracing, ns'],
    ]) {
      const r = tr.results[key];
      compare(`${op}: no subscriber`, r['no subscriber'].median, 'untraced inner calls (the pair before the hooks), same run', r['untraced inner calls'].median, ns, atMost(1.05));
      compare(`${op}: with a subscriber`, r['with a subscriber'].median, 'untraced inner calls, same run', r['untraced, subscriber present'].median, ns);
    }
  }
  const p = results.pingpong;
  if (p && p.results.oneCpu) {
    const r = p.results.oneCpu;
    compare('ping-pong round trip, both on one CPU, sync, µs', r.sync.median, 'C program, same placement', r.C.median, us, atMost(1.3));
    compare('ping-pong round trip, both on one CPU, async, µs', r.async.median, 'C program, same placement', r.C.median, us, atMost(3));
  }
  if (p && p.results.twoCpus) {
    const r = p.results.twoCpus;
    const vm = () => ({ text: 'not judged: placement-bound, see notes', hit: undefined });
    compare('ping-pong round trip, one CPU each, sync, µs', r.sync.median, 'C program, same placement', r.C.median, us, vm);
    compare('ping-pong round trip, one CPU each, async, µs', r.async.median, 'C program, same placement', r.C.median, us, vm);
  }
  const c = results.contended;
  if (c) {
    const r = c.results;
    for (const n of [2, 4]) {
      for (const mode of ['async', 'sync']) {
        const ours = r[`${mode} x${n}`].median;
        const op = `contended, ${n} processes, ${mode}, ops/s`;
        const peers = [
          ['redis-semaphore', 'redis-semaphore `Mutex` (ioredis, loopback)', 30],
          ['RedisSemaphore', 'this package\'s `RedisSemaphore` (posix-semaphore/redis, loopback)', undefined],
          ['proper-lockfile', 'proper-lockfile `lock()`', 300],
        ];
        for (const [key, label, goal] of peers) {
          const theirs = r[`${key} x${n}`];
          const target = mode === 'async' && n === 2 && goal !== undefined ? atLeast(goal) : undefined;
          if (theirs) compare(op, ours, label, theirs.median, opsPerSecond, target);
          else note(op, opsPerSecond(ours), label, 'n/a', 'see note');
        }
      }
    }
  }
  const l = results['loop-delay'];
  if (l) {
    const r = l.results;
    const op = 'event-loop delay while 1,000 `acquire()` wait, ms';
    note(op, `p50 ${ms(r.p50)}`, 'idle loop reads ≈ 1.1', '', '');
    note(op, `p99 ${ms(r.p99)}`, '', '', `< 5 ms ${r.p99 < 5 ? '**hit**' : '**miss**'}`);
    note(op, `max ${ms(r.max)}`, '', '', '');
  }
  const m = results.memory;
  if (m) {
    const r = m.results;
    const flat = (w, e) => e.mappings === w.mappings && e.fds === w.fds && e.rssMiB <= w.rssMiB * 1.05 && e.heapMiB <= w.heapMiB * 1.2;
    const row = (what, w, e) =>
      note(
        what,
        `RSS ${mib(w.rssMiB)} → ${mib(e.rssMiB)} MiB, heap ${mib(w.heapMiB)} → ${mib(e.heapMiB)} MiB, sem maps ${w.mappings} → ${e.mappings}, fds ${w.fds} → ${e.fds}`,
        '',
        '',
        `no growth ${flat(w, e) ? '**hit**' : '**miss**'}`,
      );
    row(`memory, after warm-up → after ${m.cycles.toLocaleString('en-US')} acquire/release cycles`, r.cyclesWarm, r.cyclesEnd);
    row(`memory, after warm-up → after ${m.opens.toLocaleString('en-US')} open/close cycles`, r.opensWarm, r.opensEnd);
  }
  const t = results.threadpool;
  if (t) {
    const r = t.results;
    const LABELS = {
      idle: 'nothing waiting',
      'names:4': '4 names, one acquire each',
      'names:16': '16 names',
      'names:64': '64 names',
      'names:100': '100 names',
      'handles:100': '100 handles of one name',
    };
    const JUDGED = ['handles:100', 'names:16', 'names:64'];
    for (const [pool, loads] of Object.entries(r.loads)) {
      const size = pool === 'default' ? '4 (default)' : pool;
      const limit = Math.max(5, 3 * loads.idle.readFile.p50);
      const op = `tiny \`fs.promises.readFile\` median while acquires wait, UV_THREADPOOL_SIZE ${size}, ms`;
      for (const [what, load] of Object.entries(loads)) {
        const judged = JUDGED.includes(what) ? `≤ ${ms(limit)} ${load.readFile.p50 <= limit ? '**hit**' : '**miss**'}` : '';
        note(op, `${ms(load.readFile.p50)} (p99 ${ms(load.readFile.p99)})`, LABELS[what], '', judged);
      }
    }
    for (const [pool, loads] of Object.entries(r.loads)) {
      const size = pool === 'default' ? '4 (default)' : pool;
      const op = `idle CPU of the waiting process, UV_THREADPOOL_SIZE ${size}, % of one core`;
      for (const what of ['names:100', 'handles:100']) {
        const cpu = loads[what].cpuPercent;
        note(op, cpu.toFixed(2), LABELS[what], '', `< 2 ${cpu < 2 ? '**hit**' : '**miss**'}`);
      }
    }
    for (const [pool, w] of Object.entries(r.wake)) {
      const size = pool === 'default' ? '4 (default)' : pool;
      note(`post → resolve, 64 names waiting, one post each, UV_THREADPOOL_SIZE ${size}, ms`, `p50 ${ms(w.p50)}, p99 ${ms(w.p99)}, max ${ms(w.max)}`, `${w.n} wakes`, '', `every one < 250 ${w.max < 250 ? '**hit**' : '**miss**'}`);
      const h = r.handoff[pool];
      note(`post → resolve, one name, UV_THREADPOOL_SIZE ${size}, ms`, `p50 ${ms(h.p50)}, p99 ${ms(h.p99)}`, `${h.n} hand-offs`, '', `≪ 100 (a slice) ${h.p99 < 20 ? '**hit**' : '**miss**'}`);
    }
    const op = `fairness: ${r.fairness.length} processes, 1 ms critical section, 10 s`;
    r.fairness.forEach((f, i) =>
      note(op, `share ${(f.share * 100).toFixed(1)} % (${f.count}), wait p99 ${ms(f.p99)} ms, worst ${ms(f.worst)} ms`, `process ${i + 1}`, '', 'measured, no target'),
    );
  }
  return rows;
}

// Today (the baseline build) beside now, row by row: operation, peer, today, now.
function comparison(now, today) {
  const key = (row) => `${row[0]}\u0000${row[2]}`;
  const before = new Map(rowsOf(today).map((row) => [key(row), row]));
  const rows = [];
  const seen = new Set();
  let previous;
  for (const row of rowsOf(now)) {
    if (seen.has(key(row))) continue;
    seen.add(key(row));
    const repeat = previous && previous[0] === row[0] && previous[1] === row[1]; // the same figure beside another peer
    previous = row;
    if (repeat) continue;
    const old = before.get(key(row));
    rows.push([row[0], row[2], old ? old[1] : 'n/a', row[1], old ? old[5] : '', row[5]]);
  }
  return rows;
}

function table(rows, header = ['operation', 'posix-semaphore', 'peer', 'peer figure', 'ratio', 'target']) {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  let last;
  for (const row of rows) {
    const cells = [...row];
    if (cells[0] === last) cells[0] = ''; // one operation, several peers
    else last = cells[0];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function notesOf(results, built) {
  const notes = [];
  const o = built.original;
  if (/^npm pack failed/.test(o.published.reason || '')) {
    notes.push(`The original posix-semaphore ${o.version} could not be fetched (${o.published.reason}), so its column is n/a.`);
  } else if (!o.published.ok) {
    const removed = [...new Set((o.published.reason || '').split('\n').map((l) => (l.match(/call to ‘([^’(]+)/) || [])[1]).filter(Boolean))];
    notes.push(
      `The original posix-semaphore ${o.version} (npm) does not build on Node ${process.versions.node} as published: ` +
        (removed.length ? `it calls V8 APIs removed in V8 7 / Node 12 (${removed.map((f) => `\`${f}()\``).join(', ')} without a context or isolate)` : o.published.reason) +
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

if (require.main === module) {
  mainRun().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

module.exports = { rowsOf };
