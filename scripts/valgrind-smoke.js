'use strict';
// The smoke that scripts/valgrind.sh runs under memcheck: every path of the
// addon once or a few times (sync calls and their errors, the async path with
// its wait slices, timeouts, aborts and close(), handles dropped for the
// finaliser, a worker thread terminated mid-wait, releaseOnExit at exit, the
// process account and the robust ledger, a ledger truncated under us).
// Small on purpose: node under valgrind runs some 50 times slower.
//   node --expose-gc scripts/valgrind-smoke.js
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const Semaphore = require('..');

// POSIX_SEMAPHORE_SMOKE=sync,async picks sections (to find which one a report
// comes from); POSIX_SEMAPHORE_SMOKE_ROUNDS=N does each N times (a leak of the
// addon grows with N; what Node keeps at exit does not).
const sections = (process.env.POSIX_SEMAPHORE_SMOKE || 'sync,async,dropped,worker,robust').split(',');
const rounds = Number(process.env.POSIX_SEMAPHORE_SMOKE_ROUNDS) || 1;
const name = `/psem-valgrind-${process.pid}`;
const names = [name, `${name}-exit`];
const say = (line) => process.stdout.write(`${line}\n`);
const expectCode = (fn, code) => {
  try {
    fn();
  } catch (err) {
    if (err.code === code) return;
    throw err;
  }
  throw new Error(`expected ${code}`);
};

async function sync() {
  const sem = new Semaphore(name, { value: 2, exclusive: true });
  const other = new Semaphore(name, { create: false });
  for (let i = 0; i < 200; i++) {
    sem.wait();
    other.tryWait();
    expectCode(() => sem.tryWait(), 'EAGAIN');
    sem.post();
    other.post();
  }
  sem.wait();
  sem.wait();
  expectCode(() => sem.timedWait(5), 'ETIMEDOUT');
  sem.post();
  sem.timedWait(5);
  sem.post();
  sem.post();
  if (sem.value !== 2) throw new Error(`value ${sem.value}`);
  expectCode(() => new Semaphore(name, { exclusive: true }), 'EEXIST');
  expectCode(() => new Semaphore(`${name}-missing`, { create: false }), 'ENOENT');
  other.close();
  other.close();
  expectCode(() => other.post(), 'ERR_SEMAPHORE_CLOSED');
  sem.close();
  say('sync: ok');
}

async function async() {
  const sem = new Semaphore(name, { create: false });
  const holder = new Semaphore(name, { create: false });
  for (let i = 0; i < 200; i++) {
    await sem.acquire();
    sem.release();
  }
  holder.wait();
  holder.wait(); // taken: what follows waits on the threadpool
  for (let i = 0; i < 20; i++) {
    const waiting = sem.acquire();
    await new Promise((r) => setTimeout(r, 1));
    holder.post();
    await waiting;
    sem.release();
    holder.wait();
  }
  for (let i = 0; i < 5; i++) {
    await sem.acquire({ timeout: 2 }).then(
      () => Promise.reject(new Error('resolved')),
      (err) => err.code === 'ETIMEDOUT' || Promise.reject(err),
    );
    await sem.acquire({ signal: AbortSignal.timeout(2) }).then(
      () => Promise.reject(new Error('resolved')),
      (err) => err.name === 'AbortError' || Promise.reject(err),
    );
  }
  const doomed = new Semaphore(name, { create: false });
  const pending = [doomed.acquire(), doomed.acquire({ timeout: 1000 })];
  await new Promise((r) => setTimeout(r, 5));
  doomed.close();
  for (const p of pending)
    await p.then(
      () => Promise.reject(new Error('resolved')),
      (err) => err.code === 'ERR_SEMAPHORE_CLOSED' || Promise.reject(err),
    );
  holder.post();
  holder.post();
  if ((await sem.withLock(() => 42)) !== 42) throw new Error('withLock');
  await new Promise((r) => setTimeout(r, 150)); // every slice back
  if (sem.value !== 2) throw new Error(`value ${sem.value}`);
  sem.close();
  holder.close();
  say('async: ok');
}

async function dropped() {
  for (let i = 0; i < 50; i++) new Semaphore(name, { create: false });
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((r) => setImmediate(r));
  }
  say('dropped: ok');
}

async function worker() {
  const sem = new Semaphore(name, { create: false });
  sem.wait();
  sem.wait(); // taken: the worker's acquire waits
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const Semaphore = require(${JSON.stringify(path.join(__dirname, '..'))});
     const sem = new Semaphore(${JSON.stringify(name)}, { create: false, releaseOnExit: true });
     parentPort.postMessage('waiting');
     sem.acquire();`,
    { eval: true },
  );
  await new Promise((resolve) => w.once('message', resolve));
  await new Promise((r) => setTimeout(r, 20));
  await w.terminate();
  sem.post();
  sem.post();
  sem.close();
  say('worker: ok');
}

async function robust() {
  const plain = new Semaphore(name, { create: false });
  const sem = new Semaphore(name, { create: false, robust: true, releaseOnExit: true });
  const second = new Semaphore(name, { create: false, robust: true }); // recovers at open
  for (let i = 0; i < 100; i++) {
    sem.wait();
    plain.post(); // the account: any handle gives back
    await second.acquire();
    sem.release();
  }
  plain.wait();
  plain.wait();
  expectCode(() => sem.tryWait(), 'EAGAIN'); // a try that finds it empty recovers (nothing to recover)
  plain.post();
  plain.post();
  second.close();
  // Truncated under a live holder: an error, never a SIGBUS.
  sem.wait();
  require('node:fs').truncateSync(`/dev/shm/psem.${name.slice(1)}`, 0);
  sem.post();
  expectCode(() => sem.tryWait(), 'ENOTRECOVERABLE');
  sem.close();
  plain.close();
  say('robust: ok');
}

(async () => {
  try {
    for (let round = 0; round < rounds; round++) {
      if (!sections.includes('sync')) new Semaphore(name, { value: 2 }).close();
      if (sections.includes('sync')) await sync();
      if (sections.includes('async')) await async();
      if (sections.includes('dropped')) await dropped();
      if (sections.includes('worker')) await worker();
      if (sections.includes('robust')) await robust();
      Semaphore.unlink(name);
    }
    // Ends holding a unit of a releaseOnExit handle: the exit path gives it back.
    const atExit = new Semaphore(names[1], { value: 1, releaseOnExit: true });
    atExit.wait();
    process.on('exit', () => {
      for (const n of names) {
        try {
          Semaphore.unlink(n);
        } catch {
          // already unlinked by the smoke itself
        }
      }
    });
    say('smoke: ok');
  } catch (err) {
    for (const n of names) {
      try {
        Semaphore.unlink(n);
      } catch {
        // never created, or already unlinked: the first error is what counts
      }
    }
    throw err;
  }
})();
