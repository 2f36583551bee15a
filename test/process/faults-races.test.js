'use strict';
// Faults inside a process: worker threads terminated at random moments or in
// a sync wait(), close() racing acquire(), and what a rejected acquire()
// leaves for the next wait (the unit a wait slice took as it was being
// rejected). Each ends in a documented state, with no crash and nothing
// leaked.
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, runToEnd, runCode, within } = require('../support/helpers');

describe('faults', function () {
  this.timeout(30000);
  afterEach(unlinkAll);

  describe('worker threads', () => {
    it('40 workers holding, waiting, looping withLock or timedWait, terminated at random moments: never over the value; exact once the process exits (releaseOnExit)', async function () {
      const sem = new Semaphore(uniqueName('workers'), { value: 2 });
      try {
        const { code, stdout, stderr } = await runToEnd('fault-workers.js', [sem.name, '40', String(Date.now())]);
        expect(code, stderr + stdout).to.equal(0);
        const report = JSON.parse(stdout.trim().split('\n').pop());
        // A terminated worker's units belong to the process (issue 20): back at its exit, not before.
        expect(report.value, stdout).to.be.within(0, 2);
        expect(sem.value, 'after the process exited').to.equal(2);
      } finally {
        sem.close();
      }
    });

    it('terminate() of a worker blocked in a sync wait() completes within a wait slice, before any post; the worker (releaseOnExit) took nothing', async () => {
      const sem = new Semaphore(uniqueName('worker-sync'), { value: 0 });
      try {
        const script = `
          const { Worker } = require('node:worker_threads');
          const S = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
          const sem = new S(${JSON.stringify(sem.name)}, { create: false });
          const worker = new Worker(\`
            const { parentPort } = require('node:worker_threads');
            const S = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
            const sem = new S(${JSON.stringify(sem.name)}, { create: false, releaseOnExit: true });
            parentPort.postMessage('waiting');
            sem.wait();
          \`, { eval: true });
          worker.once('message', async () => {
            await new Promise((r) => setTimeout(r, 50));
            let done = false;
            const ended = worker.terminate().then(() => { done = true; });
            await new Promise((r) => setTimeout(r, 300));
            console.log('terminated before the post: ' + done);
            sem.post();
            await ended;
            console.log('terminated after the post; value ' + sem.value);
          });`;
        const { code, stdout, stderr } = await runCode(script).done;
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^terminated before the post: true$/m);
        expect(stdout).to.match(/^terminated after the post; value 1$/m);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('close() racing acquire()', () => {
    it('300 rounds of acquires closed at random moments while units come and go: every acquire settles once, value exact', async () => {
      const name = uniqueName('close-race');
      const owner = new Semaphore(name, { value: 1 });
      let resolved = 0;
      let closedRejections = 0;
      try {
        for (let round = 0; round < 300; round++) {
          const sem = new Semaphore(name, { create: false });
          const count = 1 + (round % 4);
          const settled = [];
          for (let i = 0; i < count; i++) {
            const options = i % 3 === 2 ? { timeout: round % 5 } : undefined;
            settled.push(
              sem.acquire(options).then(
                () => 'resolved',
                (err) => err.code,
              ),
            );
          }
          // Units come and go around the close: taken, posted back, posted from elsewhere.
          const when = round % 6;
          if (when === 1) await new Promise((r) => setImmediate(r));
          if (when === 2) await sleep(1);
          if (when === 3) owner.post();
          if (when === 4) await sleep(round % 3);
          sem.close();
          // Take back the extra unit, from whoever holds it. Not a sync wait(): a slice
          // that took a unit just before close() gives it back on this thread.
          if (when === 3) await owner.acquire({ timeout: 5000 });
          const outcomes = await Promise.all(settled);
          for (const outcome of outcomes) {
            if (outcome === 'resolved') {
              resolved++;
              owner.post(); // the handle is closed: give the unit back through another
            } else if (outcome === 'ERR_SEMAPHORE_CLOSED') closedRejections++;
            else if (outcome !== 'ETIMEDOUT') expect.fail(`unexpected outcome ${outcome}`);
          }
        }
        await sleep(150); // any wait slice still on the pool gives its unit back
        expect(owner.value).to.equal(1);
        expect(resolved).to.be.above(0);
        expect(closedRejections).to.be.above(0);
      } finally {
        owner.close();
      }
    });
  });

  describe('the hazards of a rejected acquire()', () => {
    for (const how of ['timeout', 'abort']) {
      // Deadlocked before be77ff1: the rejected acquire's slice took the posted unit and could only give it back on the blocked JS thread.
      it(`a sync wait() right after an acquire() rejected by ${how} gets the unit another process posts`, async () => {
        const sem = new Semaphore(uniqueName('reject-then-wait'), { value: 0 });
        try {
          const child = run('fault-sync-after-reject.js', [sem.name, how]);
          await child.line(/^waiting$/);
          await sleep(20);
          sem.post();
          const result = await within(child, 3000);
          expect(result.hung, 'the child deadlocked: its sync wait() never returned').to.equal(undefined);
          expect(result.stdout).to.match(how === 'abort' ? /^acquire: (ABORT_ERR|TimeoutError)$/m : /^acquire: ETIMEDOUT$/m);
          expect(result.stdout).to.match(/^acquired$/m);
          expect(result.code, result.stderr).to.equal(0);
          expect(sem.value).to.equal(1);
        } finally {
          sem.close();
        }
      });
    }
  });

  describe('a unit taken by the wait slice while the acquire() is being rejected', () => {
    for (const how of ['timeout', 'abort']) {
      // Deadlocked before 4b8906d: the unit reached JS only after the rejection handler, whose sync wait() blocked forever.
      it(`rejected by ${how} with the unit already taken by the slice: the unit is free for a sync wait() in the rejection handler`, async () => {
        const sem = new Semaphore(uniqueName('reject-race'), { value: 0 });
        try {
          const result = await within(run('fault-reject-race.js', [sem.name, how]), 5000);
          expect(result.hung, `the child deadlocked: ${result.stdout}`).to.equal(undefined);
          expect(result.stdout).to.match(how === 'abort' ? /^acquire: ABORT_ERR$/m : /^acquire: ETIMEDOUT$/m);
          expect(result.stdout).to.match(/^acquired$/m);
          expect(result.code, result.stderr).to.equal(0);
          expect(sem.value).to.equal(1);
        } finally {
          sem.close();
        }
      });
    }
  });
});
