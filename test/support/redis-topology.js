'use strict';
// Redis topologies started by the tests on 127.0.0.1 (Sentinel with a
// master and a replica, a Cluster of three masters), the processes that take
// turns on a RedisSemaphore over them (fixtures/redis-failover-worker.js),
// and the checks on what those processes saw. Every server is started here
// (scripts/lib/redis-server.js: free ports, no persistence) and stopped by
// its PID.
const { spawnSync } = require('node:child_process');
const { setTimeout: sleep } = require('node:timers/promises');
const Redis = require('ioredis');
const { startRedis, startSentinel, redisServerPath, redisCliPath } = require('../../scripts/lib/redis-server');
const { run } = require('./helpers');

/** Why these tests cannot run here, or undefined when they can. */
function missingTools({ cli = false } = {}) {
  if (!redisServerPath()) return 'redis-server is not on PATH (Debian: apt-get install redis-server redis-sentinel redis-tools)';
  if (cli && !redisCliPath()) return 'redis-cli is not on PATH (Debian: apt-get install redis-tools)';
  return undefined;
}

/** Polls `check` every `every` ms until it returns a value other than undefined/false, or throws after `ms`. */
async function until(what, check, ms = 30_000, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last ? ` (${last.message})` : ''}`);
    await sleep(every);
  }
}

/** One command on a throwaway connection. */
async function ask(port, ...command) {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}

/**
 * One master, one replica and three Sentinels (quorum 2) watching
 * `masterName`, judged down after `downAfterMs`. Returns { masterName,
 * sentinelPorts, servers (port -> server), masterPort(), failover(),
 * stop() }; failover() SIGKILLs the master, waits until the Sentinels
 * promote the replica, restarts the killed server as a replica of the new
 * master, and resolves once the Sentinels count it as a healthy replica.
 */
async function startSentinelSet({ masterName = 'psem', downAfterMs = 1000, failoverTimeoutMs = 1000 } = {}) {
  const servers = new Map();
  const master = await startRedis();
  servers.set(master.port, master);
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  servers.set(replica.port, replica);
  const sentinels = [];
  const sentinelPorts = [];
  try {
    await until('replica in sync', async () => /master_link_status:up/.test(await ask(replica.port, 'INFO', 'replication')));
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel({ masterName, masterPort: master.port, downAfterMs, failoverTimeoutMs }));
    sentinelPorts.push(...sentinels.map((s) => s.port));
    await replicaKnown(master.port, replica.port);
  } catch (err) {
    for (const s of [...servers.values(), ...sentinels]) await s.stop();
    throw err;
  }

  async function masterPort() {
    const [, port] = await ask(sentinelPorts[0], 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName);
    return Number(port);
  }
  // Every Sentinel names `masterPortNow` master and lists `replicaPort` as a replica that is up.
  function replicaKnown(masterPortNow, replicaPort) {
    return until('the Sentinels see the replica', async () => {
      for (const port of sentinelPorts) {
        const [, m] = await ask(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName);
        if (Number(m) !== masterPortNow) return false;
        const replicas = (await ask(port, 'SENTINEL', 'REPLICAS', masterName)).map(pairs);
        const r = replicas.find((x) => Number(x.port) === replicaPort);
        if (!r || /s_down|disconnected/.test(r.flags)) return false;
      }
      return true;
    });
  }

  return {
    masterName,
    sentinelPorts,
    servers,
    masterPort,
    /**
     * SIGKILLs the master (after `beforeKill()`, which may stop the replica
     * to make it miss writes); resolves with { killedPort, newPort,
     * killedAt, promotedAt } once the replica is promoted and the killed
     * server is back as a replica of it.
     */
    async failover({ beforeKill, afterKill } = {}) {
      const killedPort = await masterPort();
      const killed = servers.get(killedPort);
      if (beforeKill) await beforeKill();
      const killedAt = Number(process.hrtime.bigint()) / 1e6;
      await killed.kill();
      servers.delete(killedPort);
      if (afterKill) await afterKill();
      const newPort = await until('a replica promoted', async () => {
        const port = await masterPort();
        return port !== killedPort && /role:master/.test(await ask(port, 'INFO', 'replication')) && port;
      });
      const promotedAt = Number(process.hrtime.bigint()) / 1e6;
      const back = await startRedis({ port: killedPort, args: ['--replicaof', '127.0.0.1', String(newPort)] });
      servers.set(killedPort, back);
      await until(
        'the old master in sync as a replica',
        async () => /master_link_status:up/.test(await ask(killedPort, 'INFO', 'replication')),
        90000,
      );
      await replicaKnown(newPort, killedPort);
      return { killedPort, newPort, killedAt, promotedAt };
    },
    /** The replica's server (the one that is not master now). */
    async replica() {
      const m = await masterPort();
      return [...servers.values()].find((s) => s.port !== m);
    },
    async stop() {
      for (const s of [...sentinels, ...servers.values()]) await s.stop();
    },
  };
}

/** A flat [k, v, k, v] reply as an object. */
function pairs(list) {
  const o = {};
  for (let i = 0; i + 1 < list.length; i += 2) o[list[i]] = list[i + 1];
  return o;
}

/**
 * Three Cluster masters on free ports, joined with `redis-cli --cluster
 * create`. Returns { ports, servers, stop() }.
 */
async function startCluster() {
  const servers = [];
  try {
    for (let i = 0; i < 3; i++) {
      servers.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--cluster-config-file', 'nodes.conf'] }));
    }
    const hosts = servers.map((s) => `127.0.0.1:${s.port}`);
    const r = spawnSync(redisCliPath(), ['--cluster', 'create', ...hosts, '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`redis-cli --cluster create failed (${r.status}): ${r.stdout}\n${r.stderr}`);
    await until('the cluster is ok', async () => {
      for (const s of servers) if (!/cluster_state:ok/.test(await ask(s.port, 'CLUSTER', 'INFO'))) return false;
      return true;
    });
  } catch (err) {
    for (const s of servers) await s.stop();
    throw err;
  }
  return {
    ports: servers.map((s) => s.port),
    servers,
    async stop() {
      for (const s of servers) await s.stop();
    },
  };
}

/**
 * A fixtures/redis-failover-worker.js child: `events` fills as it prints,
 * `stop()` asks it to finish and resolves with its exit ({ code, signal,
 * stdout, stderr }).
 */
function startFailoverWorker(connect, name, options, seed) {
  const child = run('redis-failover-worker.js', [JSON.stringify(connect), name, JSON.stringify(options), String(seed)]);
  const events = [];
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        events.push({ ...JSON.parse(line), worker: seed });
      } catch {
        // not an event
      }
    }
  });
  return {
    child,
    events,
    holds: () => events.filter((e) => e.ev === 'enter').length,
    /** Sets the share of long holds from the next hold on. */
    long(share) {
      child.stdin.write(`long ${share}\n`);
    },
    /** Takes no new unit until resume(). */
    pause() {
      child.stdin.write('pause\n');
    },
    resume() {
      child.stdin.write('resume\n');
    },
    /** Whether it is inside a hold now. */
    inside() {
      const enter = events.findLast((e) => e.ev === 'enter');
      return enter !== undefined && !events.some((e) => e.token === enter.token && e.ev !== 'enter' && e.ev !== 'aborted' && e.ev !== 'lost');
    },
    /** Whether it is inside a hold of more than `ms` now. */
    insideLong(ms) {
      const enter = events.findLast((e) => e.ev === 'enter');
      return enter !== undefined && enter.ms > ms && !events.some((e) => e.token === enter.token && e.ev !== 'enter');
    },
    stop() {
      child.stdin.write('stop\n');
      return child.done;
    },
  };
}

/**
 * What the workers saw, checked: holds in order of entry carry tokens that
 * only go up; each hold is [enter, the first of exit/aborted/lost]; and for
 * every pair of holds that overlap, the older one (smaller token) heard of
 * its loss (a 'lost' event or a withLock rejection ERR_SEMAPHORE_LEASE_LOST)
 * and saw its signal abort, no later than `deadlineOf(older, younger)`.
 * Returns the figures, and a list of the failures (empty when all holds).
 */
function checkHolds(workers, deadlineOf) {
  const all = workers.flatMap((w) => w.events);
  const failures = [];
  const enters = all.filter((e) => e.ev === 'enter').sort((a, b) => a.t - b.t);
  for (let i = 1; i < enters.length; i++) {
    if (!(enters[i].token > enters[i - 1].token)) {
      failures.push(
        `token went backwards: ${enters[i - 1].token} (worker ${enters[i - 1].worker}) then ${enters[i].token} (worker ${enters[i].worker})`,
      );
    }
  }
  const holds = enters.map((enter) => {
    const mine = all.filter((e) => e.worker === enter.worker && e.token === enter.token && e.t >= enter.t);
    const first = (ev) => mine.find((e) => e.ev === ev);
    const exit = first('exit');
    const aborted = first('aborted');
    const lostEvent = first('lost');
    const rejected = mine.find((e) => e.ev === 'lock-failed' && e.code === 'ERR_SEMAPHORE_LEASE_LOST');
    const told = [lostEvent, rejected].filter(Boolean).sort((a, b) => a.t - b.t)[0];
    const end = Math.min(...[exit, aborted, lostEvent].filter(Boolean).map((e) => e.t), Infinity);
    return { worker: enter.worker, token: enter.token, from: enter.t, to: end, told, aborted };
  });
  let overlaps = 0;
  for (let i = 0; i < holds.length; i++) {
    for (let j = i + 1; j < holds.length; j++) {
      const [older, younger] = [holds[i], holds[j]];
      if (younger.from >= older.to) continue;
      overlaps++;
      const deadline = deadlineOf(older, younger);
      const what = `holds overlap: token ${older.token} (worker ${older.worker}) until ${older.to.toFixed(0)}, token ${younger.token} (worker ${younger.worker}) from ${younger.from.toFixed(0)}`;
      if (!older.told) failures.push(`${what}; the older was never told 'lost'`);
      else if (older.told.t > deadline)
        failures.push(`${what}; the older was told 'lost' ${(older.told.t - deadline).toFixed(0)} ms after its lease's end`);
      if (!older.aborted) failures.push(`${what}; the older's signal never aborted`);
      else if (older.aborted.t > deadline)
        failures.push(`${what}; the older's signal aborted ${(older.aborted.t - deadline).toFixed(0)} ms after its lease's end`);
    }
  }
  return {
    failures,
    figures: {
      holds: holds.length,
      tokensChecked: enters.length,
      overlaps,
      lossesReported: holds.filter((h) => h.told).length,
      aborted: holds.filter((h) => h.aborted).length,
      acquireFailures: all.filter((e) => e.ev === 'acquire-failed').length,
    },
    enters,
    holds,
  };
}

module.exports = { missingTools, until, ask, startSentinelSet, startCluster, startFailoverWorker, checkHolds };
