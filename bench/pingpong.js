'use strict';
// (3) Cross-process ping-pong round trip, µs. Two processes, two semaphores
// of value 0: "ping" posts ping and waits for pong, "pong" waits for ping
// and posts pong. Sync on both sides, async on both sides, and the C program.
//
// Two placements. Both processes on one CPU (taskset): a round trip is two
// context switches plus the calls, so it shows what the code costs; this is
// where the targets are judged. Each on its own CPU: waking a process on the
// other, idle, CPU costs tens of µs in this VM (the hypervisor halts an idle
// vCPU), which swamps the code and varies with what else keeps the CPUs
// awake. Left to the scheduler the placement flips between the two from run
// to run, so that case is not measured.
const { execFileSync, spawnSync } = require('node:child_process');
const os = require('node:os');
const { Semaphore, uniqueName, median, spawnNode, main } = require('./lib/common');
const { buildC } = require('./lib/build');

const ROUNDS = 7;
const CPUS = { oneCpu: [0, 0], twoCpus: [0, 1] }; // ping's CPU, pong's CPU
const REPEATS = { oneCpu: 2, twoCpus: 2 }; // runs of each kind, in turn
// Iterations per round, for about 0.1 s a round.
const ITERATIONS = {
  oneCpu: { C: 50_000, sync: 20_000, async: 10_000 },
  twoCpus: { C: 1_500, sync: 1_500, async: 1_500 },
};

const open = (name) => new Semaphore(name, { create: false });

// The timed side: prints one µs-per-round-trip figure per round.
async function ping(mode, pingName, pongName, n) {
  const pingSem = open(pingName);
  const pongSem = open(pongName);
  const samples = [];
  for (let round = -1; round < ROUNDS; round++) {
    const t0 = process.hrtime.bigint();
    if (mode === 'sync') {
      for (let i = 0; i < n; i++) {
        pingSem.post();
        pongSem.wait();
      }
    } else {
      for (let i = 0; i < n; i++) {
        pingSem.release();
        await pongSem.acquire();
      }
    }
    if (round >= 0) samples.push(Number(process.hrtime.bigint() - t0) / n / 1e3);
  }
  console.log(`SAMPLES ${JSON.stringify(samples)}`);
  pingSem.close();
  pongSem.close();
}

// The other side: answers `total` pings.
async function pong(mode, pingName, pongName, total) {
  const pingSem = open(pingName);
  const pongSem = open(pongName);
  if (mode === 'sync') {
    for (let i = 0; i < total; i++) {
      pingSem.wait();
      pongSem.post();
    }
  } else {
    for (let i = 0; i < total; i++) {
      await pingSem.acquire();
      pongSem.release();
    }
  }
  pingSem.close();
  pongSem.close();
}

async function nodeRoundTrips(mode, n, [cpuPing, cpuPong]) {
  const pingSem = new Semaphore(uniqueName(`${mode}-ping`), { value: 0 });
  const pongSem = new Semaphore(uniqueName(`${mode}-pong`), { value: 0 });
  const names = [pingSem.name, pongSem.name];
  const answering = spawnNode(__filename, ['pong', mode, ...names, n * (ROUNDS + 1)], { cpu: cpuPong });
  const timed = spawnNode(__filename, ['ping', mode, ...names, n], { cpu: cpuPing });
  const [, json] = await timed.line(/^SAMPLES (.*)$/);
  await Promise.all([timed.done, answering.done]);
  pingSem.close();
  pongSem.close();
  return JSON.parse(json);
}

function cRoundTrips(n, [cpuPing, cpuPong]) {
  const args = ['pingpong', String(n), String(ROUNDS)];
  if (cpuPing !== undefined) args.push(String(cpuPing), String(cpuPong));
  return execFileSync(buildC(), args, { encoding: 'utf8' }).trim().split('\n').map(Number);
}

async function measure() {
  const results = {};
  const notes = [];
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
    return { results, notes: ['ping-pong skipped: taskset (util-linux) is not available to pin the processes'] };
  }
  const placements = Object.keys(CPUS).filter((p) => Math.max(...CPUS[p]) < os.cpus().length);
  for (const placement of placements) {
    const cpu = CPUS[placement];
    const samples = { C: [], sync: [], async: [] };
    for (let r = 0; r < REPEATS[placement]; r++) {
      samples.C.push(...cRoundTrips(ITERATIONS[placement].C, cpu));
      samples.sync.push(...(await nodeRoundTrips('sync', ITERATIONS[placement].sync, cpu)));
      samples.async.push(...(await nodeRoundTrips('async', ITERATIONS[placement].async, cpu)));
    }
    results[placement] = Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, { median: median(s), samples: s }]));
  }
  if (!results.twoCpus) notes.push('ping-pong on two CPUs skipped: this machine has one');
  return { results, notes };
}

const numbers = (f) => (mode, a, b, n) => f(mode, a, b, Number(n));
main(module, measure, { ping: numbers(ping), pong: numbers(pong) });
