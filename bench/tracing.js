'use strict';
// (8) What tracing costs (issue 13): the uncontended sync wait()+post() pair
// and the `await acquire()`+`release()` pair beside the same pairs through
// the untraced inner calls (the code as it was before the tracing hooks),
// interleaved in one process: first while no subscriber has ever been there,
// then with a subscriber to every event of both channels, subscribed once
// and kept, as an APM tool does.
const diagnostics = require('node:diagnostics_channel');
const { Semaphore, uniqueName, interleave, timedLoop, main } = require('./lib/common');

const N_SYNC = 500_000;
const N_ASYNC = 150_000;
const ROUNDS = 21; // many short rounds: the no-subscriber gap is a few ns, under a loaded machine's swings

// One async loop per candidate, each with its own await sites.
function nsPer(loop) {
  return async (n) => {
    const t0 = process.hrtime.bigint();
    await loop(n);
    return Number(process.hrtime.bigint() - t0) / n;
  };
}

/** Subscribes a counting handler to every event of `channel`; returns how many events it saw so far. */
function subscribe(channel) {
  let events = 0;
  const count = () => {
    events++;
  };
  diagnostics.tracingChannel(channel).subscribe({ start: count, end: count, asyncStart: count, asyncEnd: count, error: count });
  return () => events;
}

async function measure() {
  const sem = new Semaphore(uniqueName('tracing-pair'));
  try {
    const untracedWait = sem['untracedWait'].bind(sem);
    const untracedAcquire = sem['untracedAcquire'].bind(sem);
    const syncPair = () =>
      timedLoop(() => {
        sem.wait();
        sem.post();
      });
    const untracedSyncPair = () =>
      timedLoop(() => {
        untracedWait();
        sem.post();
      });
    const asyncPair = () =>
      nsPer(async (n) => {
        for (let i = 0; i < n; i++) {
          await sem.acquire();
          sem.release();
        }
      });
    const untracedAsyncPair = () =>
      nsPer(async (n) => {
        for (let i = 0; i < n; i++) {
          await untracedAcquire();
          sem.release();
        }
      });
    const sync = await interleave({ 'no subscriber': syncPair(), 'untraced inner calls': untracedSyncPair() }, { n: N_SYNC, rounds: ROUNDS });
    const async_ = await interleave({ 'no subscriber': asyncPair(), 'untraced inner calls': untracedAsyncPair() }, { n: N_ASYNC, rounds: ROUNDS });
    const waitEvents = subscribe('posix-semaphore:wait');
    const acquireEvents = subscribe('posix-semaphore:acquire');
    const subscribedSync = await interleave(
      { 'with a subscriber': syncPair(), 'untraced inner calls': untracedSyncPair() },
      { n: N_SYNC, rounds: ROUNDS },
    );
    const subscribedAsync = await interleave(
      { 'with a subscriber': asyncPair(), 'untraced inner calls': untracedAsyncPair() },
      { n: N_ASYNC, rounds: ROUNDS },
    );
    if (waitEvents() === 0 || acquireEvents() === 0) throw new Error('the subscriber saw no event');
    sync['with a subscriber'] = subscribedSync['with a subscriber'];
    sync['untraced, subscriber present'] = subscribedSync['untraced inner calls'];
    async_['with a subscriber'] = subscribedAsync['with a subscriber'];
    async_['untraced, subscriber present'] = subscribedAsync['untraced inner calls'];
    return { results: { sync, async: async_ } };
  } finally {
    sem.close();
  }
}

main(module, measure);
