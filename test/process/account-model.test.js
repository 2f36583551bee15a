'use strict';
// Model-based test of the process account (issue 20; the rules:
// /work/notes/account-spec.md, docs/robust.md, docs/exit-and-signals.md).
// Two to five real processes (test/fixtures/account-actor.js; two or three
// at the start, more spawned later), each with one to three handles of one
// semaphore in its main thread and maybe a worker thread with one or two
// more, every handle robust or not and releaseOnExit or not; fast-check
// drives random takes (tryWait, tryAcquire, acquire({ timeout: 0 }),
// timedWait(10), wait(), acquire()), posts and releases, close() and
// reopening, worker terminations and respawns, and ends: a normal end,
// process.exit(), a SIGTERM nobody listens to, a SIGKILL while idle, or a
// SIGKILL while a thread churns (takes through one handle, posts through
// another, in a loop). One command at a time: between commands nothing
// takes, so the value is what the model says, give or take recoveries.
//
// The model keeps, per process, its net (posts minus takes) and its account
// (every take through any handle adds one, every post gives one back, never
// below zero), and what comes back when it ends: the account, when any of
// its handles has releaseOnExit (at a graceful end) or robust (at any end,
// by recovery). Checked:
// - never more holders than the value: after every step, the value plus
//   what the live processes hold (the model knows: each reports every take)
//   is at most the initial value plus what was produced (posts beyond an
//   account) and what the ended processes may give back;
// - after every process has ended and a recovery has run (a robust open in a
//   new process), the value is exact, except that a robust process SIGKILLed
//   while its churning thread had a take or a post in flight (the churn says
//   where it is in a file: `phase` in account-actor.js) may have lost that
//   one unit: counted and reported as "possibly missing".
// Fixed seeds, and two random ones (the seed is printed on failure);
// PSEM_MODEL_SEED=n PSEM_MODEL_RUNS=n replays one; PSEM_MODEL_SHRINK=1 shrinks.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const fc = require('fast-check');
const { Semaphore, uniqueName, run } = require('../support/helpers');
const { valueSeenByNewProcess, trackChildren } = require('../support/robust');

const RUN_CAP_MS = 20000; // no new command after this; the run then ends its processes
const REPLY_MS = 20000; // a command unanswered this long fails the run
const GRACEFUL = new Set(['end', 'exit', 'sigterm']);

const totals = { runs: 0, commands: 0, processes: 0, sigkills: 0, churnKills: 0, possiblyMissing: 0, missing: 0, workersTerminated: 0 };

// ---- the model --------------------------------------------------------

const flagged = (f) => f.robust || f.releaseOnExit;

function modelProcess(threads) {
  const all = threads.flat();
  return {
    threads, // [main flags[], worker flags[]?]
    open: threads.map((flags) => flags.map(() => true)),
    workerAlive: threads.length > 1,
    counting: all.some(flagged), // every handle opens before the first take
    releasing: all.some((f) => f.releaseOnExit),
    robust: all.some((f) => f.robust),
    account: 0,
    net: 0, // posts minus takes
    alive: true,
    ended: undefined, // { lo, hi, window }: what it added to the value, all told
  };
}

function flaggedOpen(p) {
  let n = 0;
  p.threads.forEach((flags, t) => flags.forEach((f, h) => (n += p.open[t][h] && flagged(f) ? 1 : 0)));
  return n;
}

// The spec leaves open whether an account holding nothing outlives the last
// handle that asked for it (a later plain take may then count or not): the
// model never goes there. A counting process keeps an open handle with
// releaseOnExit or robust, or units in its account.
function keepsAccount(p, { account = p.account, flaggedDelta = 0 } = {}) {
  return !p.counting || account > 0 || flaggedOpen(p) + flaggedDelta > 0;
}

function took(p) {
  p.net--;
  if (p.counting) p.account++;
}
function posted(p) {
  p.net++;
  if (p.counting && p.account > 0) p.account--;
}
/** What process `p` adds to the value in the end, all told, if it ends by `ending` in state `s`. */
function contribution(p, s, ending) {
  const back = p.counting && (p.robust || (GRACEFUL.has(ending) && p.releasing)) ? s.account : 0;
  return s.net + back;
}
function end(p, ending, phase = 0) {
  p.alive = false;
  const now = { net: p.net, account: p.account };
  const alternatives = [now];
  const step = (s, op) => {
    const q = { ...p, ...s };
    op(q);
    return { net: q.net, account: q.account };
  };
  const holding = () => step(now, took);
  if (phase === 1) alternatives.push(holding()); // the take may have happened
  if (phase === 2) alternatives[0] = holding();
  if (phase === 3) alternatives.splice(0, 1, holding(), step(holding(), posted)); // the post may have happened
  const sums = alternatives.map((s) => contribution(p, s, ending));
  // A robust process killed between a take and its record (or an unrecord
  // and its post) may leak that unit.
  const window = p.robust && p.counting && (phase === 1 || phase === 3) ? 1 : 0;
  p.ended = { lo: Math.min(...sums), hi: Math.max(...sums), window };
}

/** The most the value may be now: what is given back is never more than this. */
function upper(m) {
  return m.value0 + m.procs.reduce((sum, p) => sum + (p.alive ? p.net : p.ended.hi), 0);
}

// ---- the real processes ------------------------------------------------

function startActor(r, threads) {
  const phase = path.join(r.dir, `phase-${r.actors.length}`);
  fs.writeFileSync(phase, Buffer.from([0]));
  const child = r.track(run('account-actor.js', [JSON.stringify({ name: r.name, phase, threads })]));
  const actor = { child, phase, id: 0 };
  r.actors.push(actor);
  return actor;
}

async function lineOf(actor, re, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${REPLY_MS} ms`)), REPLY_MS);
  });
  try {
    return await Promise.race([actor.child.line(re), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function send(actor, cmd) {
  const id = ++actor.id;
  actor.child.stdin.write(`${JSON.stringify({ id, ...cmd })}\n`);
  const reply = JSON.parse(await lineOf(actor, new RegExp(`^\\{"id":${id},`), JSON.stringify(cmd)));
  if (reply.error !== undefined) throw new Error(`${JSON.stringify(cmd)} failed in pid ${actor.child.pid}: ${reply.error}`);
  return reply.ok;
}

async function endActor(actor, ending) {
  const { child } = actor;
  if (ending === 'end' || ending === 'exit') child.stdin.write(`${JSON.stringify({ op: ending })}\n`);
  else child.kill(ending === 'sigterm' ? 'SIGTERM' : 'SIGKILL');
  const { code, signal, stderr } = await child.done;
  const want = { end: [0, null], exit: [7, null], sigterm: [null, 'SIGTERM'], sigkill: [null, 'SIGKILL'] }[ending];
  expect([code, signal], `pid ${child.pid} ended by ${ending}: ${stderr}`).to.deep.equal(want);
}

function check(m, r, what) {
  m.stats.ran.push(what);
  const value = r.observer.value;
  const most = upper(m);
  expect(value, `after ${what}: the value ${value} is more than the model allows (${most}): a unit given twice`).to.be.at.most(most);
}

// ---- the commands ------------------------------------------------------
// A command names its process, thread and handles by selectors (any
// integers), resolved against the model when it is due: the n-th live
// process (modulo), its n-th live thread, the n-th of its handles that fit.

const MAX_PROCESSES = 5; // per run: two or three at the start, more spawned later

function pick(list, selector) {
  return list.length === 0 ? undefined : list[selector % list.length];
}
function liveProcess(m, sel) {
  if (Date.now() >= m.deadline) return undefined;
  return pick(
    m.procs.flatMap((p, i) => (p.alive ? [i] : [])),
    sel,
  );
}
function liveThread(m, p, sel) {
  const proc = m.procs[p];
  return pick(
    proc.threads.flatMap((_, t) => (t === 0 || proc.workerAlive ? [t] : [])),
    sel,
  );
}
function handles(m, p, t, open) {
  return m.procs[p].open[t].flatMap((isOpen, h) => (isOpen === open ? [h] : []));
}
/** Resolves { p, t, h } for a command on an open (or, with open false, closed) handle; undefined when none. */
function target(m, sel, open = true) {
  const p = liveProcess(m, sel.p);
  if (p === undefined) return undefined;
  const t = liveThread(m, p, sel.t);
  const h = pick(handles(m, p, t, open), sel.h);
  return h === undefined ? undefined : { p, t, h };
}
const at = (x) => (x ? `p${x.p}.t${x.t}.h${x.h}` : '?');

class Take {
  constructor(sel, how) {
    Object.assign(this, { sel, how });
  }
  check(m) {
    this.at = target(m, this.sel);
    return this.at !== undefined;
  }
  async run(m, r) {
    const { p, t, h } = this.at;
    const before = r.observer.value;
    // A wait that could block: only while a unit is free (nothing else takes meanwhile).
    const how = (this.how === 'wait' || this.how === 'acquire') && before === 0 ? 'tryWait' : this.how;
    const { took: got } = await send(r.actors[p], { op: 'take', t, h, how });
    if (before > 0) expect(got, `${this}: value ${before} before it`).to.equal(true);
    if (got) took(m.procs[p]);
    check(m, r, `take(${at(this.at)}, ${how})${got ? '' : ' (none)'}`);
  }
  toString() {
    return `take(${at(this.at)}, ${this.how})`;
  }
}

class Post {
  constructor(sel, how) {
    Object.assign(this, { sel, how });
  }
  check(m) {
    this.at = target(m, this.sel);
    if (this.at === undefined) return false;
    const p = m.procs[this.at.p];
    return keepsAccount(p, { account: Math.max(0, p.account - 1) });
  }
  async run(m, r) {
    const { p, t, h } = this.at;
    await send(r.actors[p], { op: 'post', t, h, how: this.how });
    posted(m.procs[p]);
    check(m, r, String(this));
  }
  toString() {
    return `${this.how}(${at(this.at)})`;
  }
}

class Close {
  constructor(sel) {
    this.sel = sel;
  }
  check(m) {
    this.at = target(m, this.sel);
    if (this.at === undefined) return false;
    const p = m.procs[this.at.p];
    return keepsAccount(p, { flaggedDelta: flagged(p.threads[this.at.t][this.at.h]) ? -1 : 0 });
  }
  async run(m, r) {
    const { p, t, h } = this.at;
    await send(r.actors[p], { op: 'close', t, h });
    m.procs[p].open[t][h] = false;
    check(m, r, String(this));
  }
  toString() {
    return `close(${at(this.at)})`;
  }
}

class Reopen {
  constructor(sel) {
    this.sel = sel;
  }
  check(m) {
    this.at = target(m, this.sel, false);
    return this.at !== undefined;
  }
  async run(m, r) {
    const { p, t, h } = this.at;
    await send(r.actors[p], { op: 'reopen', t, h });
    m.procs[p].open[t][h] = true;
    check(m, r, String(this));
  }
  toString() {
    return `reopen(${at(this.at)})`;
  }
}

class Terminate {
  constructor(sel) {
    this.sel = sel;
  }
  check(m) {
    this.p = pick(
      m.procs.flatMap((p, i) => (p.alive && p.workerAlive && Date.now() < m.deadline ? [i] : [])),
      this.sel,
    );
    if (this.p === undefined) return false;
    const p = m.procs[this.p];
    const closing = p.threads[1].filter((f, h) => p.open[1][h] && flagged(f)).length;
    return keepsAccount(p, { flaggedDelta: -closing });
  }
  async run(m, r) {
    await send(r.actors[this.p], { op: 'terminate' });
    const p = m.procs[this.p];
    p.workerAlive = false;
    p.open[1] = p.open[1].map(() => false);
    m.stats.workersTerminated++;
    check(m, r, String(this));
  }
  toString() {
    return `terminate(p${this.p}.worker)`;
  }
}

class Respawn {
  constructor(sel) {
    this.sel = sel;
  }
  check(m) {
    this.p = pick(
      m.procs.flatMap((p, i) => (p.alive && p.threads.length > 1 && !p.workerAlive && Date.now() < m.deadline ? [i] : [])),
      this.sel,
    );
    return this.p !== undefined;
  }
  async run(m, r) {
    await send(r.actors[this.p], { op: 'respawn' });
    const p = m.procs[this.p];
    p.workerAlive = true;
    p.open[1] = p.open[1].map(() => true);
    check(m, r, String(this));
  }
  toString() {
    return `respawn(p${this.p}.worker)`;
  }
}

class End {
  constructor(sel, ending) {
    Object.assign(this, { sel, ending });
  }
  check(m) {
    // The last live process is ended by the run itself.
    this.p = m.procs.filter((p) => p.alive).length > 1 ? liveProcess(m, this.sel) : undefined;
    return this.p !== undefined;
  }
  async run(m, r) {
    await endActor(r.actors[this.p], this.ending);
    end(m.procs[this.p], this.ending);
    if (this.ending === 'sigkill') m.stats.sigkills++;
    check(m, r, String(this));
  }
  toString() {
    return `${this.ending}(p${this.p})`;
  }
}

// SIGKILL while a thread churns: takes through one handle, posts through another (or the same).
class ChurnKill {
  constructor(sel, give, ms) {
    Object.assign(this, { sel, give, ms });
  }
  check(m) {
    this.at = m.procs.filter((p) => p.alive).length > 1 ? target(m, this.sel) : undefined;
    if (this.at === undefined) return false;
    this.giveAt = pick(handles(m, this.at.p, this.at.t, true), this.give);
    return true;
  }
  async run(m, r) {
    const { p, t, h } = this.at;
    const actor = r.actors[p];
    await send(actor, { op: 'churn', t, take: h, give: this.giveAt });
    await sleep(this.ms);
    await endActor(actor, 'sigkill');
    const phase = fs.readFileSync(actor.phase)[0];
    end(m.procs[p], 'sigkill', phase);
    m.stats.sigkills++;
    m.stats.churnKills++;
    if (m.procs[p].ended.window) m.stats.possiblyMissing++;
    check(m, r, `${this} (phase ${phase})`);
  }
  toString() {
    return `sigkill(p${this.at?.p}) while t${this.at?.t} churns h${this.at?.h} -> h${this.giveAt} for ${this.ms} ms`;
  }
}

const flags = fc.record({ robust: fc.boolean(), releaseOnExit: fc.boolean() });
// PSEM_MODEL_SIMPLE=1 checks the model itself against code before issue 20:
// one handle per process, no worker, no close(), where per-handle counting
// and the account agree.
const SIMPLE = process.env.PSEM_MODEL_SIMPLE === '1';
const processConfig = SIMPLE
  ? flags.map((f) => [[f]])
  : fc
      .tuple(fc.array(flags, { minLength: 1, maxLength: 3 }), fc.option(fc.array(flags, { minLength: 1, maxLength: 2 })))
      .map(([main, worker]) => (worker ? [main, worker] : [main]));

class Spawn {
  constructor(threads) {
    this.threads = threads;
  }
  check(m) {
    return m.procs.length < MAX_PROCESSES && Date.now() < m.deadline;
  }
  async run(m, r) {
    const actor = startActor(r, this.threads);
    m.procs.push(modelProcess(this.threads));
    await lineOf(actor, /^\{"ready":true\}$/, 'start');
    check(m, r, String(this));
  }
  toString() {
    return `spawn ${JSON.stringify(this.threads)}`;
  }
}

const N = fc.nat(99);
const sel = fc.record({ p: N, t: N, h: N });
const take = fc.tuple(sel, fc.constantFrom('tryWait', 'tryAcquire', 'acquire0', 'timedWait', 'wait', 'acquire')).map((a) => new Take(...a));
const post = fc.tuple(sel, fc.constantFrom('post', 'release')).map((a) => new Post(...a));
// Weighted by repetition: mostly takes and posts.
const commands = [
  take,
  take,
  take,
  take,
  post,
  post,
  post,
  ...(SIMPLE ? [] : [sel.map((s) => new Close(s)), sel.map((s) => new Reopen(s)), N.map((s) => new Terminate(s)), N.map((s) => new Respawn(s))]),
  fc.tuple(N, fc.constantFrom('end', 'exit', 'sigterm', 'sigkill')).map((a) => new End(...a)),
  fc.tuple(sel, N, fc.integer({ min: 0, max: 15 })).map((a) => new ChurnKill(...a)),
  processConfig.map((threads) => new Spawn(threads)),
];

// ---- one run -----------------------------------------------------------

async function oneRun(track, value0, configs, cmds, endings) {
  totals.runs++;
  const name = uniqueName('account-model');
  const observer = new Semaphore(name, { value: value0, exclusive: true }); // plain, in this process: takes nothing
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-account-'));
  const r = { name, observer, dir, actors: [], track };
  const m = {
    value0,
    procs: configs.map(modelProcess),
    deadline: Date.now() + RUN_CAP_MS,
    stats: { sigkills: 0, churnKills: 0, possiblyMissing: 0, workersTerminated: 0, ran: [] },
  };
  try {
    for (const threads of configs) startActor(r, threads);
    await Promise.all(r.actors.map((actor) => lineOf(actor, /^\{"ready":true\}$/, 'start')));
    totals.processes += configs.length;

    await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
    totals.commands += m.stats.ran.length;
    if (process.env.PSEM_MODEL_VERBOSE) console.log(`      ran: ${m.stats.ran.join(', ')}`);

    // Every process still alive ends, one way or another.
    for (const [i, p] of m.procs.entries()) {
      if (!p.alive) continue;
      const ending = endings[i];
      await endActor(r.actors[i], ending);
      end(p, ending);
      if (ending === 'sigkill') m.stats.sigkills++;
      check(m, r, `${ending}(p${i}) at the end`);
    }

    // A recovery: a robust open in a new process.
    const recovered = await valueSeenByNewProcess(name);
    const final = observer.value;
    expect(recovered, 'the value the recoverer saw').to.equal(final);
    const hi = value0 + m.procs.reduce((sum, p) => sum + p.ended.hi, 0);
    const window = m.procs.reduce((sum, p) => sum + p.ended.window, 0);
    const lo = value0 + m.procs.reduce((sum, p) => sum + p.ended.lo, 0) - window;
    const lines = m.procs.map(
      (p, i) =>
        `p${i} ${JSON.stringify(p.threads.map((t) => t.map((f) => (f.robust ? 'R' : '') + (f.releaseOnExit ? 'E' : '') || '-')))} ` +
        `net ${p.net} account ${p.account} gives ${p.ended.lo === p.ended.hi ? p.ended.lo : `${p.ended.lo}..${p.ended.hi}`}${p.ended.window ? ' (killed in the take-record window)' : ''}`,
    );
    const story = `value ${value0}; ${lines.join('; ')}; final ${final}, the model says ${lo === hi ? hi : `${lo}..${hi}`}`;
    expect(final, `${story}: over-granted after everything ended`).to.be.at.most(hi);
    expect(final, `${story}: units missing`).to.be.at.least(lo);
    // Units really missing: at most the possibly missing ones.
    totals.missing += Math.max(0, hi - final);
    for (const key of ['sigkills', 'churnKills', 'possiblyMissing', 'workersTerminated']) totals[key] += m.stats[key];
  } catch (err) {
    err.message += `\n      the steps that ran: ${m.stats.ran.join(', ')}`;
    throw err;
  } finally {
    for (const actor of r.actors) {
      if (actor.child.exitCode === null && actor.child.signalCode === null) actor.child.kill('SIGKILL');
      await actor.child.done;
    }
    observer.close();
    Semaphore.unlink(name);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('model: the process account across handles, threads, processes, exits and kills', function () {
  this.timeout(300000);
  const track = trackChildren();
  after(() => {
    console.log(
      `      ${totals.runs} runs, ${totals.processes} processes, ${totals.commands} commands, ${totals.sigkills} SIGKILLs ` +
        `(${totals.churnKills} while churning), ${totals.workersTerminated} workers terminated; ` +
        `${totals.possiblyMissing} kills in the take-record window (possibly missing units), ${totals.missing} units missing`,
    );
  });

  const property = () =>
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.array(processConfig, { minLength: 2, maxLength: 3 }),
      fc.commands(commands, { maxCommands: 40, size: 'max' }),
      fc.array(fc.constantFrom('end', 'exit', 'sigterm', 'sigkill'), { minLength: MAX_PROCESSES, maxLength: MAX_PROCESSES }),
      (value, configs, cmds, endings) => oneRun(track, value, configs, cmds, endings),
    );
  const options = (seed, numRuns) => ({ seed, numRuns, endOnFailure: process.env.PSEM_MODEL_SHRINK !== '1' });

  const replay = Number(process.env.PSEM_MODEL_SEED);
  const RUNS = Number(process.env.PSEM_MODEL_RUNS) || 2;
  const seeds = Number.isInteger(replay) && process.env.PSEM_MODEL_SEED ? [replay] : [1, 2, 3, 4, 5, 6, Date.now() >>> 0, (Date.now() * 7919) >>> 0];
  for (const seed of seeds) {
    it(`seed ${seed}: ${RUNS} runs of up to 40 commands over 2-5 processes: never over the value; exact after recovery but for kills in the take-record window`, async () => {
      await fc.assert(property(), options(seed, RUNS));
    });
  }
});
