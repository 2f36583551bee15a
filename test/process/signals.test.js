'use strict';
// Signals and threads (DESIGN.md): a signal the program listens to ends the
// main thread's sync wait() with EINTR whichever thread the kernel delivers
// it to, and never interrupts a worker thread's wait; releaseOnExit gives
// back a worker's units when a signal ends the process. Race tests run under
// CPU load of their own (busy child processes), many rounds a few at a time.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, within, lineWithin, cpuLoad, blockedInFutex } = require('../support/helpers');

const ROUNDS = 50;
const PARALLEL = 3;
const WAITS = 10; // sync waits per child, each interrupted by its own signal

/** Runs `round(i)` ROUNDS times, PARALLEL at a time; resolves with the failures' descriptions. */
async function rounds(count, round) {
  const failures = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const failure = await round(i);
      if (failure) failures.push(`round ${i}: ${failure}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  return failures;
}

/**
 * One child of signal-main-wait.js in `mode`, doing `waits` sync waits in a
 * row: each time its main thread blocks in wait(), `send` signals it; each
 * wait must end with EINTR within 5 s and the listener run. When a wait
 * hangs the test posts (so that the child can report) and the round ends.
 * Resolves with a description of what went wrong, or undefined.
 */
async function signalRound(mode, waits, send) {
  const sem = new Semaphore(uniqueName(`sig-${mode}`), { value: 0 });
  const other = new Semaphore(uniqueName(`sig-${mode}-other`), { value: 2 });
  const child = run('signal-main-wait.js', [sem.name, other.name, mode, String(waits)], { detached: mode === 'child' });
  const problems = [];
  try {
    for (let i = 0; i < waits && problems.length === 0; i++) {
      if (!(await lineWithin(child, new RegExp(`^waiting ${i}$`), 10_000))) {
        problems.push(`wait ${i} never began`);
        break;
      }
      // In sem_wait on NAME: the signal window is open (a signal sent before it opens goes to libuv, see README).
      const blocked = await blockedInFutex(child.pid, 3000, child.pid, sem.name);
      send(child);
      let ended = await lineWithin(child, new RegExp(`^wait ${i}: `), 5000);
      if (!ended) {
        problems.push(`wait ${i} not interrupted within 5 s${blocked ? '' : ' (its main thread was never seen blocked in a futex wait)'}`);
        sem.post(); // lets the lost wait end, so that the child still reports
        ended = await lineWithin(child, new RegExp(`^wait ${i}: `), 5000);
      }
      if (ended && !ended.endsWith(': EINTR')) problems.push(`${ended}, not EINTR`);
      if (ended && ended.endsWith(': EINTR') && !(await lineWithin(child, new RegExp(`^listener ${i} ran$`), 5000)))
        problems.push(`listener ${i} did not run`);
    }
    const result = await within(child, 5000, () => kill(child, mode));
    const eintr = /^worker EINTR (\d+)/m.exec(result.stdout);
    if (mode === 'worker' && (!eintr || eintr[1] !== '0')) problems.push(`the workers' sync calls got EINTR ${eintr ? eintr[1] : '?'} times`);
    if (result.code !== 0)
      problems.push(`exit ${result.code ?? result.signal}${result.hung ? ' (hung)' : ''}: ${result.stderr.split('\n').slice(0, 3).join(' | ')}`);
    return problems.length > 0 ? problems.join('; ') : undefined;
  } finally {
    kill(child, mode);
    sem.close();
    other.close();
    Semaphore.unlink(sem.name);
    Semaphore.unlink(other.name);
  }
}

// The child, and in `child` mode its whole process group (its `sleep`), by id.
// The group may outlive the child: its `sleep` when the child was killed alone.
function kill(child, mode) {
  try {
    if (mode === 'child') process.kill(-child.pid, 'SIGKILL');
    else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
}

describe('signals and threads', function () {
  this.timeout(180_000);
  let load;
  before(() => {
    load = cpuLoad(2);
  });
  after(async () => {
    if (load) await load.stop();
    unlinkAll();
  });

  it(`SIGINT ends the main thread's wait() with EINTR and runs its listener while two worker threads loop timedWait(0)/post()/tryWait(); the workers never get EINTR (${ROUNDS} rounds)`, async () => {
    const failures = await rounds(ROUNDS, () => signalRound('worker', WAITS, (child) => child.kill('SIGINT')));
    expect(failures, `failed ${failures.length}/${ROUNDS}:\n${failures.join('\n')}`).to.deep.equal([]);
  });

  it(`Ctrl-C (SIGINT to the process group) ends the main thread's wait() with EINTR and runs its listener while a child process of it dies (${ROUNDS} rounds)`, async () => {
    const failures = await rounds(ROUNDS, () => signalRound('child', WAITS, (child) => process.kill(-child.pid, 'SIGINT')));
    expect(failures, `failed ${failures.length}/${ROUNDS}:\n${failures.join('\n')}`).to.deep.equal([]);
  });
});

describe('releaseOnExit units of a worker thread, on a signal', function () {
  this.timeout(30_000);
  afterEach(unlinkAll);

  for (const signal of ['SIGINT', 'SIGTERM']) {
    it(`${signal} to a process whose worker holds 2 units (releaseOnExit) and whose main thread listens to nothing: dies by ${signal}, value back to 2`, async () => {
      const sem = new Semaphore(uniqueName(`worker-release-${signal}`), { value: 2 });
      try {
        const child = run('worker-holds.js', [sem.name]);
        await child.line(/^holding 2$/);
        expect(sem.value, 'while the worker holds').to.equal(0);
        child.kill(signal);
        const result = await within(child, 5000);
        expect({ code: result.code, signal: result.signal }, result.stderr).to.deep.equal({ code: null, signal });
        expect(sem.value, 'after the process died').to.equal(2);
      } finally {
        sem.close();
      }
    });
  }
});
