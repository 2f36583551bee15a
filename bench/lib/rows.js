'use strict';
// The bench's results as table rows: each measurement's figures, formatted,
// beside its peers, with the ratio and the target; the baseline comparison;
// the Markdown table. bench/index.js prints them, bench/lib/chart.js draws
// the compared ones.

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
    if (redis) compare(op, ours, "this package's `RedisSemaphore` (loopback Redis)", redis.median * 1e3, ns);
  }
  const rb = results.robust;
  if (rb) {
    const { sync, async: asyncPair } = rb.results;
    compare('robust sync `wait()`+`post()` pair, ns', sync.robust.median, 'plain handle, same run', sync.plain.median, ns, atMost(1.5));
    compare(
      'robust `await acquire()`+`release()` pair, ns',
      asyncPair.robust.median,
      'plain handle, same run',
      asyncPair.plain.median,
      ns,
      atMost(1.5),
    );
  }
  const tr = results.tracing;
  if (tr) {
    for (const [key, op] of [
      ['sync', 'sync `wait()`+`post()` pair, tracing, ns'],
      ['async', '`await acquire()`+`release()` pair, tracing, ns'],
    ]) {
      const r = tr.results[key];
      compare(
        `${op}: no subscriber`,
        r['no subscriber'].median,
        'untraced inner calls (the pair before the hooks), same run',
        r['untraced inner calls'].median,
        ns,
        atMost(1.05),
      );
      compare(
        `${op}: with a subscriber`,
        r['with a subscriber'].median,
        'untraced inner calls, same run',
        r['untraced, subscriber present'].median,
        ns,
      );
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
  const w = results.wakeup;
  if (w) {
    const r = w.results;
    const op = "wake-up from idle after another process's `post()`, µs";
    compare(`${op}: waiting \`await acquire()\``, r.async.median, 'sync `wait()`, same run', r.sync.median, us, atMost(2));
    compare(`${op}: waiting \`await acquire()\``, r.async.median, 'C `sem_wait()`, same run', r.C.median, us);
    compare(`${op}: sync \`wait()\``, r.sync.median, 'C `sem_wait()`, same run', r.C.median, us);
    if (r.pipe) {
      const label = "Node's own wake-up from idle: another process's pipe write to a `'data'` callback, same run";
      compare(`${op}: waiting \`await acquire()\``, r.async.median, label, r.pipe.median, us);
    }
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
          ['RedisSemaphore', "this package's `RedisSemaphore` (posix-semaphore/redis, loopback)", undefined],
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
    // Handle churn: RSS follows Node-API's own bookkeeping (bench/memory.js), so the handles alive judge it.
    const exact = (w, e) => e.mappings === w.mappings && e.fds === w.fds && e.handles === w.handles && e.heapMiB <= w.heapMiB * 1.2;
    const flat = (w, e) => exact(w, e) && e.rssMiB <= w.rssMiB * 1.05;
    const row = (what, w, e, judge, goal) =>
      note(
        what,
        `RSS ${mib(w.rssMiB)} → ${mib(e.rssMiB)} MiB, heap ${mib(w.heapMiB)} → ${mib(e.heapMiB)} MiB, native handles ${w.handles} → ${e.handles}, sem maps ${w.mappings} → ${e.mappings}, fds ${w.fds} → ${e.fds}`,
        '',
        '',
        `${goal} ${judge(w, e) ? '**hit**' : '**miss**'}`,
      );
    row(`memory, after warm-up → after ${m.cycles.toLocaleString('en-US')} acquire/release cycles`, r.cyclesWarm, r.cyclesEnd, flat, 'no growth');
    row(
      `memory, after warm-up → after ${m.opens.toLocaleString('en-US')} open/close cycles`,
      r.opensWarm,
      r.opensEnd,
      exact,
      'no handle, mapping or fd left; heap flat',
    );
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
      note(
        `post → resolve, 64 names waiting, one post each, UV_THREADPOOL_SIZE ${size}, ms`,
        `p50 ${ms(w.p50)}, p99 ${ms(w.p99)}, max ${ms(w.max)}`,
        `${w.n} wakes`,
        '',
        `every one < 250 ${w.max < 250 ? '**hit**' : '**miss**'}`,
      );
      const h = r.handoff[pool];
      note(
        `post → resolve, one name, UV_THREADPOOL_SIZE ${size}, ms`,
        `p50 ${ms(h.p50)}, p99 ${ms(h.p99)}`,
        `${h.n} hand-offs`,
        '',
        `≪ 100 (a slice) ${h.p99 < 20 ? '**hit**' : '**miss**'}`,
      );
    }
    const op = `fairness: ${r.fairness.length} processes, 1 ms critical section, 10 s`;
    r.fairness.forEach((f, i) =>
      note(
        op,
        `share ${(f.share * 100).toFixed(1)} % (${f.count}), wait p99 ${ms(f.p99)} ms, worst ${ms(f.worst)} ms`,
        `process ${i + 1}`,
        '',
        'measured, no target',
      ),
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
    if (cells[0] === last)
      cells[0] = ''; // one operation, several peers
    else last = cells[0];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

module.exports = { rowsOf, comparison, table, ns, us, ms, mib };
