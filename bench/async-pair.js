'use strict';
// (2) Uncontended `await acquire()` + `release()` pair, ns: this package
// beside the in-process async-mutex Semaphore(1) and async-sema Sema(1).
const { Semaphore: AsyncMutexSemaphore } = require('async-mutex');
const { Sema } = require('async-sema');
const { Semaphore, uniqueName, interleave, main } = require('./lib/common');

const N = 300_000;
const ROUNDS = 9;

// One async loop per candidate, each with its own await sites.
function nsPer(loop) {
  return async (n) => {
    const t0 = process.hrtime.bigint();
    await loop(n);
    return Number(process.hrtime.bigint() - t0) / n;
  };
}

async function measure() {
  const sem = new Semaphore(uniqueName('async-pair'));
  const mutexSemaphore = new AsyncMutexSemaphore(1);
  const sema = new Sema(1);
  const results = await interleave(
    {
      'posix-semaphore': nsPer(async (n) => {
        for (let i = 0; i < n; i++) {
          await sem.acquire();
          sem.release();
        }
      }),
      'async-mutex': nsPer(async (n) => {
        for (let i = 0; i < n; i++) {
          const [, release] = await mutexSemaphore.acquire();
          release();
        }
      }),
      'async-sema': nsPer(async (n) => {
        for (let i = 0; i < n; i++) {
          await sema.acquire();
          sema.release();
        }
      }),
    },
    { n: N, rounds: ROUNDS },
  );
  sem.close();
  return { results };
}

main(module, measure);
