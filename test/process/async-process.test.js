'use strict';
// The Promise API against other processes: the event loop stays free, the
// threadpool is used sparingly, and a post elsewhere is seen at once.
const { spawnSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run } = require('../support/helpers');

async function figures(child) {
  const line = await child.line(/^\{/);
  return JSON.parse(line);
}

describe('Promise API across processes', () => {
  afterEach(unlinkAll);

  it('1,000 acquires waiting on a held semaphore: timers on time, one native wait in flight, fs still served', async () => {
    const name = uniqueName();
    const holder = new Semaphore(name, { value: 1 });
    holder.wait(); // this process holds it while the child's acquires wait
    try {
      const child = run('waiters.js', [name, '1000'], { env: { UV_THREADPOOL_SIZE: '2' } });
      await child.line(/^waiting$/);
      await sleep(300); // several slices come and go while everyone waits
      holder.post();
      const f = await figures(child);
      const { code } = await child.done;
      expect(code).to.equal(0);
      expect(f.resolved).to.equal(1000);
      expect(f.value).to.equal(1);
      expect(f.mostInflight, 'native waits in flight at once').to.equal(1);
      expect(f.p99, `event-loop delay p99 (ms): ${JSON.stringify(f)}`).to.be.below(20);
      expect(f.worstDrift, 'timer drift (ms)').to.be.below(50);
      expect(f.readMax, 'fs.promises.readFile latency (ms)').to.be.below(50);
    } finally {
      holder.close();
    }
  });

  it('UV_THREADPOOL_SIZE=2 and three handles waiting at once: fs.promises.readFile still completes promptly', async () => {
    const name = uniqueName();
    const holder = new Semaphore(name, { value: 1 });
    holder.wait();
    try {
      const child = run('waiters.js', [name, '30', '3'], { env: { UV_THREADPOOL_SIZE: '2' } });
      await child.line(/^waiting$/);
      holder.post();
      const f = await figures(child);
      expect((await child.done).code).to.equal(0);
      expect(f.resolved).to.equal(30);
      // Three handles of one name share one wait (a wait per handle would
      // make three), and it holds no pool thread.
      expect(f.mostInflight, 'native waits in flight at once').to.equal(1);
      expect(f.readMax, JSON.stringify(f)).to.be.below(200);
      expect(f.p99).to.be.below(20);
    } finally {
      holder.close();
    }
  });

  it('the hand-off is immediate: after another process posts, the waiting acquire resolves in well under a slice', async () => {
    const name = uniqueName();
    const holder = new Semaphore(name, { value: 1 });
    const lags = [];
    try {
      for (let round = 0; round < 5; round++) {
        holder.wait();
        const child = run('waiters.js', [name, '1']);
        await child.line(/^waiting$/);
        await sleep(130 + round * 17); // mid-slice, at a different phase each round
        const postedAt = performance.timeOrigin + performance.now();
        holder.post();
        const f = await figures(child);
        await child.done;
        lags.push(f.firstResolvedAt - postedAt);
      }
    } finally {
      holder.close();
    }
    lags.sort((a, b) => a - b);
    expect(lags[2], `hand-off lags (ms): ${lags.map((l) => l.toFixed(2))}`).to.be.below(25);
    expect(lags[4]).to.be.below(60);
  });

  it('a unit posted within microseconds is taken without a threadpool round trip (acquire yields briefly first)', async function () {
    if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) this.skip(); // util-linux
    // Both processes on one CPU: "ping"'s post wakes "pong", which can only
    // answer once ping's acquire() gives it the CPU.
    const pingSem = new Semaphore(uniqueName('ping'), { value: 0 });
    const pongSem = new Semaphore(uniqueName('pong'), { value: 0 });
    try {
      const rounds = 2000;
      const names = [pingSem.name, pongSem.name, String(rounds)];
      const pong = run('ping-pong.js', ['pong', ...names], { cpu: 0 });
      const ping = run('ping-pong.js', ['ping', ...names], { cpu: 0 });
      const [p, q] = await Promise.all([ping.done, pong.done]);
      expect(p.code, p.stderr).to.equal(0);
      expect(q.code, q.stderr).to.equal(0);
      const pinged = JSON.parse(p.stdout);
      expect(pinged.rounds).to.equal(rounds);
      // Without the yield, hundreds of rounds of ping need a slice (624 of 2000 measured).
      expect(pinged.slices, `wait slices of ping in ${rounds} rounds`).to.be.below(rounds / 20);
      expect([pingSem.value, pongSem.value]).to.deep.equal([0, 0]);
    } finally {
      pingSem.close();
      pongSem.close();
    }
  });

  it('N processes × M iterations mixing sync wait() and await acquire() lose no update', async () => {
    const name = uniqueName();
    const file = require('node:path').join(require('node:os').tmpdir(), `psem-counter-${process.pid}-${Date.now()}`);
    require('node:fs').writeFileSync(file, '0');
    const sem = new Semaphore(name, { value: 1 });
    try {
      const modes = ['sync', 'async', 'mixed', 'async'];
      const children = modes.map((mode) => run('counter.js', [name, file, '300', mode]));
      const results = await Promise.all(children.map((c) => c.done));
      for (const r of results) expect(r.code, r.stderr).to.equal(0);
      expect(Number(require('node:fs').readFileSync(file, 'utf8'))).to.equal(4 * 300);
      expect(sem.value).to.equal(1);
    } finally {
      sem.close();
      require('node:fs').rmSync(file, { force: true });
    }
  });

  it('a handle collected while its acquire waits: no crash, the acquire still resolves', async () => {
    const name = uniqueName();
    const holder = new Semaphore(name, { value: 1 });
    holder.wait();
    try {
      const child = run('collected-waiter.js', [name], { nodeArgs: ['--expose-gc'] });
      await child.line(/^waiting$/);
      await sleep(250);
      holder.post();
      const { code, stdout, stderr } = await child.done;
      expect(stderr).to.equal('');
      expect(code).to.equal(0);
      expect(stdout).to.match(/^acquired$/m);
      expect(holder.value).to.equal(1);
    } finally {
      holder.close();
    }
  });
});
