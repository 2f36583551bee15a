'use strict';
// Run by scripts/old-distro.sh inside a chroot of an older distribution:
// the installed package (its prebuild, no compiler) against the C program
// /semctl (scripts/lib/semctl.c, linked statically).
const { execFileSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const assert = require('node:assert');
const Semaphore = require('posix-semaphore');
const binding = require('node-gyp-build').path(require('node:path').dirname(require.resolve('posix-semaphore/package.json')));
console.log('loaded', binding);
const name = `/chroot-smoke-${process.pid}`;
(async () => {
  const sem = new Semaphore(name, { value: 1 });
  sem.wait();
  assert.throws(() => sem.tryWait(), { code: 'EAGAIN' });
  const t0 = Date.now();
  assert.throws(() => sem.timedWait(100), { code: 'ETIMEDOUT' });
  console.log('timedWait timed out after', Date.now() - t0, 'ms');
  // The C program sees the same semaphore.
  assert.strictEqual(execFileSync('/semctl', [name, 'value'], { encoding: 'utf8' }).trim(), '0');
  // An acquire() waits on the threadpool until the C program posts.
  const acquired = sem.acquire({ timeout: 5000 });
  setTimeout(() => execFileSync('/semctl', [name, 'post']), 200);
  const t1 = Date.now();
  await acquired;
  console.log("acquire() got the C program's post after", Date.now() - t1, 'ms');
  await assert.rejects(sem.acquire({ timeout: 150 }), { code: 'ETIMEDOUT' });
  // A worker blocked in a sync wait() is terminated promptly.
  const worker = new Worker(
    `const S = require('posix-semaphore'); const s = new S(${JSON.stringify(name)}, { create: false }); require('node:worker_threads').parentPort.postMessage('w'); s.wait();`,
    { eval: true },
  );
  await new Promise((r) => worker.once('message', r));
  const t2 = Date.now();
  await worker.terminate();
  console.log('worker terminated in', Date.now() - t2, 'ms');
  sem.release();
  assert.strictEqual(sem.value, 1);
  assert.strictEqual(execFileSync('/semctl', [name, 'trywait'], { encoding: 'utf8' }).trim(), 'acquired');
  assert.strictEqual(sem.value, 0);
  sem.post();
  sem.close();
  Semaphore.unlink(name);
  console.log('ok');
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
  try {
    Semaphore.unlink(name);
  } catch {
    // already gone: nothing to clean up
  }
});
