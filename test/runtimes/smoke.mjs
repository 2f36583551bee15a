// Smoke tests for runtimes other than Node.js (Bun, Deno): this checkout's
// built package (dist/ and build/Release), run by the runtime itself, with no
// test framework. Run by scripts/runtimes.js:
//   bun test/runtimes/smoke.mjs
//   deno run --allow-all test/runtimes/smoke.mjs
// Prints one line per check; exits 1 when any failed. Every semaphore it
// makes has a name unique to the run and is unlinked before it exits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import { Worker } from 'node:worker_threads';
import Semaphore, { SemaphoreError } from '../../esm/index.mjs';

const runtime = globalThis.Deno
  ? `deno ${globalThis.Deno.version.deno}`
  : globalThis.Bun
    ? `bun ${globalThis.Bun.version}`
    : `node ${process.version}`;
const made = [];
let counter = 0;
const uniqueName = (label) => {
  const name = `/psem-smoke-${process.pid}-${counter++}-${label}`;
  made.push(name);
  return name;
};
const code = (fn) => {
  try {
    fn();
  } catch (err) {
    return err.code;
  }
  return undefined;
};
const rejection = (promise) =>
  promise.then(
    () => undefined,
    (err) => err,
  );

const checks = {
  sync() {
    const sem = new Semaphore(uniqueName('sync'), { value: 1 });
    try {
      assert.equal(sem.created, true);
      sem.wait();
      assert.equal(sem.value, 0);
      assert.equal(
        code(() => sem.tryWait()),
        'EAGAIN',
      );
      assert.equal(
        code(() => sem.timedWait(20)),
        'ETIMEDOUT',
      );
      sem.post();
      sem.tryWait();
      sem.post();
      assert.equal(sem.value, 1);
    } finally {
      sem.close();
    }
    assert.equal(
      code(() => sem.post()),
      'ERR_SEMAPHORE_CLOSED',
    );
  },

  async async() {
    const sem = new Semaphore(uniqueName('async'), { value: 1 });
    try {
      await sem.acquire();
      assert.equal(sem.tryAcquire(), false);
      // A contended acquire waits off the event loop: a timer still runs.
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      setTimeout(() => sem.release(), 100);
      await sem.acquire({ timeout: 10_000 });
      clearInterval(timer);
      assert.ok(ticks >= 3, `the event loop ran while acquire() waited (${ticks} ticks)`);
      const err = await rejection(sem.acquire({ timeout: 30 }));
      assert.ok(err instanceof SemaphoreError, String(err));
      assert.equal(err.code, 'ETIMEDOUT');
      sem.release();
      assert.equal(await sem.withLock(async () => sem.value), 0);
      assert.equal(sem.value, 1);
    } finally {
      sem.close();
    }
  },

  async worker() {
    const name = uniqueName('worker');
    const sem = new Semaphore(name, { value: 0 });
    try {
      const worker = new Worker(new URL('./smoke-worker.mjs', import.meta.url), { workerData: { name } });
      const exited = new Promise((resolve, reject) => {
        worker.on('error', reject);
        worker.on('exit', resolve);
      });
      await sem.acquire({ timeout: 20_000 }); // the worker posts it
      assert.equal(await exited, 0);
    } finally {
      sem.close();
    }
  },

  async 'two processes'() {
    const ping = uniqueName('ping');
    const pong = uniqueName('pong');
    const a = new Semaphore(ping, { value: 0 });
    const b = new Semaphore(pong, { value: 0 });
    try {
      const file = new URL('./smoke-child.mjs', import.meta.url).pathname;
      const args = globalThis.Deno ? ['run', '--allow-all', file, ping, pong] : [file, ping, pong];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      const exited = new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (status, signal) => resolve(signal ?? status));
      });
      a.post(); // the child blocks in wait() on ping, then posts pong
      await b.acquire({ timeout: 20_000 });
      assert.equal(await exited, 0);
    } finally {
      a.close();
      b.close();
    }
  },

  tracing() {
    if (typeof dc.tracingChannel !== 'function') return `skipped: this runtime's diagnostics_channel has no tracingChannel`;
    const seen = [];
    const handlers = {
      start: (ctx) => seen.push(`start ${ctx.operation}`),
      end: (ctx) => seen.push(`end ${ctx.outcome}`),
      asyncStart() {},
      asyncEnd() {},
      error() {},
    };
    const channel = dc.tracingChannel('posix-semaphore:wait');
    channel.subscribe(handlers);
    const sem = new Semaphore(uniqueName('tracing'), { value: 1 });
    try {
      sem.tryWait();
      sem.post();
    } finally {
      channel.unsubscribe(handlers);
      sem.close();
    }
    assert.deepEqual(seen, ['start tryWait', 'end acquired']);
    return undefined;
  },
};

let failed = 0;
console.log(`posix-semaphore smoke tests on ${runtime}`);
try {
  for (const [label, check] of Object.entries(checks)) {
    try {
      const note = await check();
      console.log(`  ok ${label}${note ? ` (${note})` : ''}`);
    } catch (err) {
      failed++;
      console.log(`  FAILED ${label}: ${err && err.stack ? err.stack : err}`);
    }
  }
} finally {
  for (const name of made) Semaphore.unlink(name, { force: true });
}
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
