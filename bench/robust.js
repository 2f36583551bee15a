'use strict';
// (7) Robust handles (issue 12): the uncontended sync wait()+post() pair and
// the `await acquire()`+`release()` pair through a robust handle (each take
// recorded in the ledger, each post unrecorded), beside the same pairs
// through a plain handle of another semaphore, in the same run, interleaved.
const { Semaphore, uniqueName, interleave, timedLoop, main } = require('./lib/common');

const N_SYNC = 1_000_000;
const N_ASYNC = 300_000;
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
  const plain = new Semaphore(uniqueName('pair'));
  const robust = new Semaphore(uniqueName('robust-pair'), { robust: true });
  try {
    const sync = await interleave(
      {
        plain: timedLoop(() => {
          plain.wait();
          plain.post();
        }),
        robust: timedLoop(() => {
          robust.wait();
          robust.post();
        }),
      },
      { n: N_SYNC, rounds: ROUNDS },
    );
    const plainAsync = nsPer(async (n) => {
      for (let i = 0; i < n; i++) {
        await plain.acquire();
        plain.release();
      }
    });
    const robustAsync = nsPer(async (n) => {
      for (let i = 0; i < n; i++) {
        await robust.acquire();
        robust.release();
      }
    });
    const async_ = await interleave({ plain: plainAsync, robust: robustAsync }, { n: N_ASYNC, rounds: ROUNDS });
    return { results: { sync, async: async_ } };
  } finally {
    plain.close();
    robust.close();
  }
}

main(module, measure);
