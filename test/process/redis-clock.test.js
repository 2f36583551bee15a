'use strict';
// RedisSemaphore: leases run on the Redis server's clock, and a lease that
// may have run out is reported before anyone else enters: a redis-server of
// this file's own is paused (SIGSTOP) under holders in real processes, and
// clients run with clocks 5 s off.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { run, FIXTURES } = require('../support/helpers');
const { cleanKeys, uniqueRedisName } = require('../support/redis');
const { startRedis, redisServerPath } = require('../../scripts/lib/redis-server');

const SKEW = path.join(FIXTURES, 'redis-clock-skew.js');

/**
 * A test/fixtures/redis-worker.js child: `send(line)` gives it a command,
 * `next(ev)` resolves with its next event of that kind, `events` holds all.
 */
function startWorker(url, name, options = {}, runOptions = {}) {
  const child = run('redis-worker.js', [url, name, JSON.stringify(options)], runOptions);
  const events = [];
  const waiters = [];
  const handed = new Map(); // per kind: how many events next() has looked past
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      events.push(event);
      for (const w of waiters.slice()) w.check();
    }
  });
  child.done.then(() => {
    for (const w of waiters.splice(0)) w.fail();
  });
  return {
    child,
    events,
    send: (line) => child.stdin.write(`${line}\n`),
    /** The next event `ev` not handed out before (events may have come already). */
    next(ev, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const waiter = {
          check() {
            const index = events.findIndex((e, i) => e.ev === ev && i >= (handed.get(ev) ?? 0));
            if (index === -1) return false;
            handed.set(ev, index + 1);
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(waiter), 1);
            resolve(events[index]);
            return true;
          },
          fail() {
            clearTimeout(timer);
            child.done.then(({ stderr }) => reject(new Error(`worker ended before '${ev}'; events: ${JSON.stringify(events)}; stderr: ${stderr}`)));
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no '${ev}' from the worker in ${ms} ms; events: ${JSON.stringify(events)}`));
        }, ms);
        waiters.push(waiter);
        if (!waiter.check() && (child.exitCode !== null || child.signalCode !== null)) waiter.fail();
      });
    },
  };
}

/**
 * The time spans the workers spent inside the critical section, each from
 * 'enter' to its 'exit' or to a 'lost' that came first (a holder that hears
 * of a lost lease leaves at once), and the most spans open at one instant.
 */
function holders(workers) {
  const spans = [];
  for (const [w, worker] of workers.entries()) {
    let open;
    for (const e of worker.events) {
      if (e.ev === 'enter') open = e.t;
      else if ((e.ev === 'exit' || e.ev === 'lost') && open !== undefined) {
        spans.push({ worker: w, from: open, to: e.t });
        open = undefined;
      }
    }
    if (open !== undefined) spans.push({ worker: w, from: open, to: Infinity });
  }
  const edges = spans.flatMap((s) => [
    [s.from, 1],
    [s.to, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // an exit before an enter at the same instant
  let inside = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, (inside += delta));
  return { spans, most };
}

describe("RedisSemaphore: leases on the server's clock, never a silent double grant", function () {
  this.timeout(120_000);
  let redis; // a redis-server of this block's own: the tests stop it with SIGSTOP
  const workers = [];
  let tmp;

  before(async function () {
    if (!redisServerPath()) {
      // CI must run these tests, not skip them.
      if (process.env.CI) throw new Error('CI is set but redis-server is not on PATH (these tests start their own, to stop it)');
      console.log('      skipped: these tests start (and SIGSTOP) a redis-server of their own: put redis-server on PATH');
      this.skip();
    }
    redis = await startRedis();
  });
  after(async () => {
    if (redis) await redis.stop();
  });
  afterEach(async () => {
    if (redis) process.kill(redis.pid, 'SIGCONT'); // a failed test may leave it stopped
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.child.done;
    }
    await cleanKeys(redis.url);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });
  const worker = (name, options, runOptions) => {
    const w = startWorker(redis.url, name, options, runOptions);
    workers.push(w);
    return w;
  };

  it('Redis paused 2 s (value 1, leaseMs 1000; A asks at the start, B 1.5 s later): one holder at a time, and any lost lease is reported', async () => {
    const name = uniqueRedisName('stall');
    const a = worker(name, { leaseMs: 1000 });
    const b = worker(name, { leaseMs: 1000 });
    await Promise.all([a.next('ready'), b.next('ready')]);
    process.kill(redis.pid, 'SIGSTOP');
    a.send('hold 300'); // shorter than refreshMs (333): done before its first refresh
    await sleep(1500);
    b.send('hold 300');
    await sleep(500);
    process.kill(redis.pid, 'SIGCONT');
    await Promise.all([a, b].map((w) => Promise.race([w.next('released'), w.next('release-failed')])));
    const { most, spans } = holders([a, b]);
    expect(most, `most holders inside at once; spans ${JSON.stringify(spans)}`).to.equal(1);
    // A lease lost is never silent: a 'lost' event, or release() rejects.
    for (const w of [a, b]) {
      const lost = w.events.filter((e) => e.ev === 'lost').length;
      const failed = w.events.filter((e) => e.ev === 'release-failed');
      for (const f of failed) expect(f.code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
      expect(w.events.filter((e) => e.ev === 'enter')).to.have.length(1);
      if (lost > 0) expect(failed, 'release() of a lost lease').to.have.length(1);
    }
    // And none was lost: the grant that Redis ran at the end of the pause was
    // renewed before it was handed out, rather than handed out already stale.
    expect([...a.events, ...b.events].filter((e) => e.ev === 'lost' || e.ev === 'release-failed')).to.deep.equal([]);
  });

  it('3 processes × 100 increments while redis-server is stopped (SIGSTOP) for 2 s, three times: one holder at a time, no update lost, every lost lease reported', async () => {
    const name = uniqueRedisName('stop-cont');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-'));
    const file = path.join(tmp, 'counter');
    fs.writeFileSync(file, '0');
    const options = { leaseMs: 1000, retryMs: 5 };
    const team = [worker(name, options), worker(name, options), worker(name, options)];
    await Promise.all(team.map((w) => w.next('ready')));
    for (const w of team) w.send(`count ${file} 100`);
    const counted = Promise.all(team.map((w) => w.next('counted', 110_000)));
    let finished = false;
    counted.then(
      () => (finished = true),
      () => (finished = true),
    );
    for (let stalls = 0; stalls < 3 && !finished; stalls++) {
      await sleep(300);
      process.kill(redis.pid, 'SIGSTOP');
      await sleep(2000);
      process.kill(redis.pid, 'SIGCONT');
    }
    await counted;
    expect(Number(fs.readFileSync(file, 'utf8')), 'the counter').to.equal(300);
    const { most, spans } = holders(team);
    expect(most, `most holders inside at once; ${spans.length} spans`).to.equal(1);
    for (const w of team) {
      // Each 'lost' is followed by a release() that rejects; no release fails otherwise than LEASE_LOST.
      let lostSinceEnter = false;
      for (const e of w.events) {
        if (e.ev === 'enter') lostSinceEnter = false;
        if (e.ev === 'lost') lostSinceEnter = true;
        if (e.ev === 'released') expect(lostSinceEnter, 'release() resolved after a lost lease').to.equal(false);
        if (e.ev === 'release-failed') expect(e.code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
        if (e.ev === 'error') expect.fail(`worker error: ${e.code} ${e.message}`);
      }
    }
  });

  it("a holder inside while Redis is stopped hears 'lost' when its lease may have run out, before anyone else enters; release() then rejects", async () => {
    const name = uniqueRedisName('stall-holder');
    const a = worker(name, { leaseMs: 1000 });
    const b = worker(name, { leaseMs: 1000 });
    await Promise.all([a.next('ready'), b.next('ready')]);
    a.send('hold 3500');
    await a.next('enter');
    b.send('hold 100');
    await sleep(100);
    process.kill(redis.pid, 'SIGSTOP');
    const lost = await a.next('lost', 5000);
    await sleep(2000 - 100);
    process.kill(redis.pid, 'SIGCONT');
    expect(lost.code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
    expect((await b.next('enter')).t).to.be.above(lost.t);
    expect((await a.next('release-failed')).code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
    await b.next('released');
    expect(holders([a, b]).most).to.equal(1);
  });

  describe('a client whose clock is 5 s off', () => {
    it('5 s ahead: cannot take (steal) a unit that a live holder keeps refreshed', async () => {
      const name = uniqueRedisName('skew-ahead');
      const holder = worker(name, { leaseMs: 2000 });
      const ahead = worker(name, { leaseMs: 2000 }, { nodeArgs: ['--require', SKEW], env: { CLOCK_SKEW_MS: '5000' } });
      await Promise.all([holder.next('ready'), ahead.next('ready')]);
      holder.send('hold 3000');
      await holder.next('enter');
      for (let i = 0; i < 5; i++) {
        ahead.send('try');
        expect((await ahead.next('tried')).took, `try ${i}`).to.equal(false);
        await sleep(300);
      }
      await holder.next('released');
      ahead.send('try');
      expect((await ahead.next('tried')).took, 'once the holder released').to.equal(true);
    });

    it('5 s behind: its unit, kept refreshed, is not taken by a client with a true clock', async () => {
      const name = uniqueRedisName('skew-behind');
      const behind = worker(name, { leaseMs: 2000 }, { nodeArgs: ['--require', SKEW], env: { CLOCK_SKEW_MS: '-5000' } });
      const honest = worker(name, { leaseMs: 2000 });
      await Promise.all([honest.next('ready'), behind.next('ready')]);
      behind.send('hold 3000');
      await behind.next('enter');
      for (let i = 0; i < 5; i++) {
        honest.send('try');
        expect((await honest.next('tried')).took, `try ${i}`).to.equal(false);
        await sleep(300);
      }
      await behind.next('released');
      expect(behind.events.filter((e) => e.ev === 'lost')).to.deep.equal([]);
    });
  });
});
