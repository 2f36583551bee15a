'use strict';
// RedisSemaphore through Redis Sentinel, with failovers (issue 22): one
// master, one replica, three Sentinels, all started here on 127.0.0.1.
// Three processes take turns on one semaphore while the master is SIGKILLed
// again and again, the Sentinels promote the replica, and the killed server
// comes back as a replica of the new master. Before each kill the replica is
// stopped (SIGSTOP) and its link cut (CLIENT KILL TYPE replica), so that the
// replica promoted has missed the last grants (the counter of tokens
// included): the case where tokens from a counter went backwards, and where
// two processes hold a unit of value 1 at once. Tokens never go backwards; every two holds that
// overlap have the older holder told 'lost' (and its withLock signal
// aborted) within its lease; nothing hangs; the semaphore works on the new
// master.
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { missingTools, until, ask, startSentinelSet, startFailoverWorker, checkHolds } = require('../support/redis-topology');
const { uniqueRedisName } = require('../support/redis');

const FAILOVERS = 3;
const LEASE_MS = 8000; // longer than a failover (2-4 s here) and than a long hold: holders inside outlive the failover

describe('RedisSemaphore through Sentinel: failovers', function () {
  this.timeout(150_000);
  let set;
  const workers = [];

  before(async function () {
    const missing = missingTools();
    if (missing) {
      if (process.env.CI) throw new Error(`CI is set but ${missing}`);
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    set = await startSentinelSet();
  });
  after(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.child.done;
    }
    if (set) await set.stop();
  });

  it(`3 processes take turns while the master is killed ${FAILOVERS} times (the replica promoted having missed the last writes): tokens only go up, every overlap is reported to the older holder within its lease, nothing hangs`, async () => {
    const name = uniqueRedisName('sentinel');
    const connect = { sentinels: set.sentinelPorts, master: set.masterName };
    for (let i = 1; i <= 3; i++) workers.push(startFailoverWorker(connect, name, { leaseMs: LEASE_MS, long: 0 }, i));
    const total = () => workers.reduce((n, w) => n + w.holds(), 0);
    const rounds = [];
    let missedHolds = 0;
    const missedLong = []; // long holds begun on a master whose replica never saw them: lost at the failover
    for (let round = 0; round < FAILOVERS; round++) {
      const before = total();
      await until('holds before the kill', () => total() >= before + 4, 30_000);
      const replica = await set.replica();
      const result = await set.failover({
        // The replica misses the writes from here on (at most 700 ms, less
        // than the Sentinels' down-after 1000 ms, so that it can still be
        // promoted); the master dies once a hold that the replica missed
        // has begun, a long one if one begins in time.
        beforeKill: async () => {
          // Nobody inside when the link is cut: every release so far reaches the
          // replica, and the holds it misses are those that begin after.
          for (const w of workers) w.pause();
          // (an acquire that was already waiting may still take a unit: wait until none
          // has been inside for 150 ms, time for the last release to reach the replica)
          let quietSince = Infinity;
          await until(
            'no hold in progress',
            () => {
              const t = Number(process.hrtime.bigint()) / 1e6;
              if (workers.some((w) => w.inside())) quietSince = Infinity;
              else quietSince = Math.min(quietSince, t);
              return t - quietSince >= 150;
            },
            15_000,
            10,
          );
          const stoppedAt = Number(process.hrtime.bigint()) / 1e6;
          process.kill(replica.pid, 'SIGSTOP');
          // Cut the replication link while the replica cannot reconnect: what the master
          // writes from now on never reaches it (what was sent before still does).
          await ask(await set.masterPort(), 'CLIENT', 'KILL', 'TYPE', 'replica');
          for (const w of workers) {
            w.long(1);
            w.resume();
          }
          const missed = () => workers.flatMap((w) => w.events).filter((e) => e.ev === 'enter' && e.t > stoppedAt);
          await until('a hold the replica missed', () => missed().some((e) => e.ms > 1000), 700, 5).catch(() => undefined);
          missedHolds += missed().length;
          missedLong.push(...missed().filter((e) => e.ms > 1000));
          console.log(
            'round',
            round,
            'missed',
            missed().length,
            'inside',
            workers.map((w) => w.inside()),
            'last',
            workers.map((w) => JSON.stringify(w.events.at(-1))),
          );
        },
        afterKill: async () => {
          process.kill(replica.pid, 'SIGCONT');
          for (const w of workers) w.long(0);
        },
      });
      rounds.push(result);
    }
    const before = total();
    await until('holds on the last master', () => total() >= before + 4, 30_000);
    const exits = await Promise.race([
      Promise.all(workers.map((w) => w.stop())),
      sleep(30_000).then(() => {
        const last = workers.map((w) => `worker ${w.child.pid} (${w.child.exitCode ?? 'running'}): ${JSON.stringify(w.events.slice(-4))}`);
        throw new Error(`a worker did not end within 30 s of "stop":\n${last.join('\n')}`);
      }),
    ]);
    for (const { code, stderr } of exits) expect(code, stderr).to.equal(0);
    for (const w of workers) expect(w.events.at(-1)).to.include({ ev: 'done' });

    // An overlap starts on a master promoted after a kill: the older holder's
    // lease, last renewed before that kill at the latest, ended within
    // LEASE_MS of it. 300 ms for a loaded machine's late timers.
    const lastKillBefore = (t) => Math.max(...rounds.filter((r) => r.killedAt <= t).map((r) => r.killedAt), -Infinity);
    const { failures, figures, enters, holds } = checkHolds(
      workers,
      (older, younger) => Math.max(lastKillBefore(younger.from), older.from) + LEASE_MS + 300,
    );
    // How far the first token after each failover is above the last before it: the room the clocks have.
    const gaps = rounds.map((r) => {
      const last = enters.filter((e) => e.t < r.killedAt).at(-1);
      const next = enters.find((e) => e.t > r.promotedAt);
      return last && next ? (next.token - last.token) / 1000 : NaN;
    });
    console.log(
      `      figures: ${rounds.length} failovers, ${figures.holds} holds (${figures.tokensChecked} tokens checked; ${missedHolds} begun on a master whose replica missed them), ` +
        `${figures.overlaps} overlapping pairs, ${missedLong.length} long holds the new master never saw, ${figures.lossesReported} losses reported, ${figures.aborted} signals aborted, ` +
        `${figures.acquireFailures} acquires rejected while Redis was unreachable; ` +
        `failover took ${rounds.map((r) => (r.promotedAt - r.killedAt).toFixed(0)).join(', ')} ms; ` +
        `first token after a failover above the last before by ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`,
    );
    // A long hold that the promoted replica never saw has lost its lease:
    // its holder is told, and its signal aborts, within that lease.
    for (const enter of missedLong) {
      const { killedAt } = rounds.find((r) => r.killedAt > enter.t);
      const hold = holds.find((h) => h.token === enter.token);
      if (hold.to < killedAt) continue; // it ended before the kill
      const deadline = killedAt + LEASE_MS + 300;
      if (!hold.told || hold.told.t > deadline)
        failures.push(`token ${hold.token}, begun on a master whose replica missed it: not told 'lost' within its lease`);
      if (!hold.aborted || hold.aborted.t > deadline)
        failures.push(`token ${hold.token}, begun on a master whose replica missed it: its signal did not abort within its lease`);
    }
    expect(failures).to.deep.equal([]);
    expect(rounds).to.have.length(FAILOVERS);
    expect(enters.filter((e) => e.t > rounds.at(-1).promotedAt).length, 'holds on the last master').to.be.at.least(4);
  });
});
