'use strict';
// RedisSemaphore on a Redis Cluster (issue 22): three masters started here
// on 127.0.0.1 (--cluster-enabled yes, joined by redis-cli --cluster
// create), used through an ioredis Cluster client. A semaphore's keys carry
// one hash tag, {semaphore:NAME}, so they share a slot and its scripts run
// on one node (a script's keys in two slots fail CROSSSLOT).
const { expect } = require('chai');
const Redis = require('ioredis');
const { RedisSemaphore } = require('posix-semaphore/redis');
const { missingTools, until, startCluster, startFailoverWorker, checkHolds } = require('../support/redis-topology');
const { uniqueRedisName } = require('../support/redis');

describe('RedisSemaphore on a Redis Cluster', function () {
  this.timeout(60_000);
  let cluster;
  let client;
  const workers = [];

  before(async function () {
    const missing = missingTools({ cli: true });
    if (missing) {
      if (process.env.CI) throw new Error(`CI is set but ${missing}`);
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    cluster = await startCluster();
    client = new Redis.Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    client.on('error', () => undefined);
  });
  after(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.child.done;
    }
    if (client) client.disconnect();
    if (cluster) await cluster.stop();
  });

  it('names whose keys live on each of the three masters: every key of a name in one slot; acquire, tokens, release, lost all work', async () => {
    // Names until each master owns one: the scripts are loaded (NOSCRIPT, then EVAL) on each node.
    const owners = new Map(); // node port -> name
    const slots = await client.cluster('SLOTS');
    const nodeOf = (slot) => slots.find(([from, to]) => slot >= from && slot <= to)[2][1];
    for (let i = 0; owners.size < 3 && i < 200; i++) {
      const name = uniqueRedisName(`cluster-${i}`);
      const keys = [`{semaphore:${name}}:holders`, `{semaphore:${name}}:token`, `semaphore:${name}`];
      const keySlots = await Promise.all(keys.map((k) => client.cluster('KEYSLOT', k)));
      expect(new Set(keySlots).size, `slots of ${keys.join(', ')}`).to.equal(1);
      const port = nodeOf(keySlots[0]);
      if (!owners.has(port)) owners.set(port, name);
    }
    expect(owners.size).to.equal(3);
    for (const [port, name] of owners) {
      const a = new RedisSemaphore(name, { client, value: 2, leaseMs: 1000 });
      const b = new RedisSemaphore(name, { client, value: 2 });
      try {
        await a.acquire();
        expect(await b.tryAcquire()).to.equal(true);
        expect(b.token, `on ${port}`).to.be.above(a.token);
        expect(await a.tryAcquire(), 'value 2, both taken').to.equal(false);
        await a.release();
        const token = await a.withLock((t) => t, { timeout: 5000 });
        expect(token).to.be.above(b.token);
        await b.release();
      } finally {
        await a.close();
        await b.close();
      }
      // The lease taken away on that node is reported.
      const c = new RedisSemaphore(name, { client, leaseMs: 500 });
      try {
        await c.acquire();
        const lost = new Promise((resolve) => c.once('lost', resolve));
        await client.del(`{semaphore:${name}}:holders`);
        expect((await lost).code).to.equal('ERR_SEMAPHORE_LEASE_LOST');
        await c.release().catch(() => undefined);
      } finally {
        await c.close();
      }
    }
  });

  it('3 processes take turns through ioredis Cluster clients: one holder at a time, tokens only go up', async () => {
    const name = uniqueRedisName('cluster-turns');
    const connect = { cluster: cluster.ports };
    for (let i = 1; i <= 3; i++) workers.push(startFailoverWorker(connect, name, { leaseMs: 2000, long: 0 }, i));
    await until('30 holds', () => workers.reduce((n, w) => n + w.holds(), 0) >= 30, 30_000);
    const exits = await Promise.all(workers.map((w) => w.stop()));
    for (const { code, stderr } of exits) expect(code, stderr).to.equal(0);
    const { failures, figures } = checkHolds(workers, () => -Infinity);
    console.log(`      figures: ${figures.holds} holds, ${figures.tokensChecked} tokens checked, ${figures.overlaps} overlaps`);
    expect(failures).to.deep.equal([]);
    expect(figures.overlaps).to.equal(0);
    expect(figures.lossesReported).to.equal(0);
  });
});
