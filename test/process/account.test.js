'use strict';
// Units belong to processes (issue 20): one account per process and
// semaphore, shared by every handle of it in the process
// (/work/notes/account-spec.md, docs/robust.md, docs/exit-and-signals.md).
// One small test per item of the issue that a process of its own can show:
//   item 1   releaseOnExit over-granted across handles of one process;
//   item 2   a robust unit given back through a plain handle was posted again at death;
//   item 3   a replaced ledger unlocked a live holder's slot: a second holder at value 1;
//   item 5   try-only callers, and a second robust handle's open, never recovered;
//   item 10  close() dropped a holding releaseOnExit handle's units, GC posted them.
// Each child is a short script (childScript below) run with real processes.
const { expect } = require('chai');
const { Semaphore, uniqueName, runCode, ROOT } = require('../support/helpers');
const { holder, valueSeenByNewProcess, killed, trackChildren } = require('../support/robust');

/**
 * `node -e` source: Semaphore, `name`, say(line) (a stdout line),
 * next() (the next line of stdin) and stayAlive() around `body`, an async
 * function body. An error ends the child with code 1 and its stack.
 */
function childScript(name, body) {
  return `
const Semaphore = require(${JSON.stringify(ROOT)});
const name = ${JSON.stringify(name)};
const say = (line) => process.stdout.write(line + '\\n');
// The next chunk of stdin (one line at a time here); stdin keeps the process alive only meanwhile.
const next = () =>
  new Promise((resolve) => {
    process.stdin.ref();
    process.stdin.resume();
    process.stdin.once('data', (chunk) => {
      process.stdin.pause();
      process.stdin.unref();
      resolve(String(chunk).trim());
    });
  });
const stayAlive = () => setInterval(() => {}, 60000);
(async () => {
${body}
})().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\\n');
  process.exit(1);
});
`;
}

describe('the process account (issue 20): units belong to processes, not handles', function () {
  this.timeout(30000);
  const track = trackChildren();

  describe('item 1: releaseOnExit across handles of one process', () => {
    it('value 1; handle a (releaseOnExit) wait()s, handle b of the same name post()s; the process exits: value 1, not 2', async () => {
      const name = uniqueName('acct-1');
      const sem = new Semaphore(name, { value: 1, exclusive: true });
      try {
        const child = track(
          runCode(
            childScript(
              name,
              `
const a = new Semaphore(name, { create: false, releaseOnExit: true });
const b = new Semaphore(name, { create: false });
a.wait();
b.post(); // the process gave its unit back: it holds none
say('value ' + b.value);`,
            ),
          ),
        );
        const { code, stdout, stderr } = await child.done;
        expect(code, stderr).to.equal(0);
        expect(stdout).to.match(/^value 1$/m);
        expect(sem.value, 'value after the process exited normally').to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('item 2: a robust unit given back through a plain handle of the same process', () => {
    it('taken through a robust handle, posted through a plain one: not posted again when the process is SIGKILLed', async () => {
      const name = uniqueName('acct-2');
      const sem = new Semaphore(name, { value: 1, exclusive: true });
      try {
        const child = track(
          runCode(
            childScript(
              name,
              `
const robust = new Semaphore(name, { create: false, robust: true });
const plain = new Semaphore(name, { create: false });
robust.wait();
plain.post(); // given back: the process holds nothing
say('posted');
stayAlive();`,
            ),
          ),
        );
        await child.line(/^posted$/);
        expect(sem.value, 'value while the process lives').to.equal(1);
        await killed(child);
        expect(await valueSeenByNewProcess(name), 'value after a recovery (a robust open in a new process)').to.equal(1);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('item 3: a name unlinked and created again while a process holds a unit of the old semaphore', () => {
    it('a robust waiter on the old semaphore does not recover the unit of a live holder that opened the new one robustly', async () => {
      const name = uniqueName('acct-3');
      let old = new Semaphore(name, { value: 1, exclusive: true });
      let fresh;
      try {
        // The holder: takes the only unit robustly, closes that handle, keeps the unit.
        const holding = track(
          runCode(
            childScript(
              name,
              `
const first = new Semaphore(name, { create: false, robust: true });
first.wait();
first.close();
say('holding');
await next();
const second = new Semaphore(name, { create: false, robust: true }); // the new semaphore of the name
say('reopened ' + second.value);
stayAlive();`,
            ),
          ),
        );
        await holding.line(/^holding$/);
        // The waiter: opens the old semaphore robustly while it is the name's.
        const waiter = track(
          runCode(
            childScript(
              name,
              `
const sem = new Semaphore(name, { create: false, robust: true });
say('opened ' + sem.value);
await next();
try {
  sem.timedWait(1500); // robust sync waits recover between their slices
  say('acquired');
} catch (err) {
  say(err.code);
}
stayAlive();`,
            ),
          ),
        );
        expect(await waiter.line(/^opened /)).to.equal('opened 0');

        old.close();
        old = undefined;
        Semaphore.unlink(name); // the semaphore and its ledger
        fresh = new Semaphore(name, { value: 1, exclusive: true });
        holding.stdin.write('reopen\n');
        expect(await holding.line(/^reopened /)).to.equal('reopened 1');

        waiter.stdin.write('wait\n');
        const outcome = await waiter.line(/^(acquired|E[A-Z]+)$/);
        expect(outcome, 'the robust waiter on the old semaphore (its holder is alive)').to.equal('ETIMEDOUT');
        expect(fresh.value, 'the new semaphore is untouched').to.equal(1);
      } finally {
        old?.close();
        fresh?.close();
      }
    });
  });

  describe("item 5: try-only callers recover a dead holder's units", () => {
    // The caller opens its robust handle while the holder lives (an open
    // recovers by itself); then the holder is SIGKILLed, and the caller only
    // ever tries, every 5 ms, for up to a second.
    const TRIES = {
      'tryAcquire()': 'if (sem.tryAcquire()) return true;',
      'tryWait()': "try { sem.tryWait(); return true; } catch (err) { if (err.code !== 'EAGAIN') throw err; }",
      'acquire({ timeout: 0 })': "try { await sem.acquire({ timeout: 0 }); return true; } catch (err) { if (err.code !== 'ETIMEDOUT') throw err; }",
      'timedWait(10)': "try { sem.timedWait(10); return true; } catch (err) { if (err.code !== 'ETIMEDOUT') throw err; }",
    };
    for (const [call, attempt] of Object.entries(TRIES)) {
      it(`a process that only calls ${call} on a robust handle gets the unit of a SIGKILLed robust holder back within a second`, async () => {
        const name = uniqueName('acct-5');
        const sem = new Semaphore(name, { value: 1, exclusive: true });
        try {
          const owner = track(holder(name, 'hold-sync'));
          await owner.line(/^holding$/);
          const trier = track(
            runCode(
              childScript(
                name,
                `
const sem = new Semaphore(name, { create: false, robust: true });
const attempt = async () => { ${attempt} return false; };
say('opened ' + sem.value);
await next();
const start = Date.now();
for (;;) {
  if (await attempt()) return say('got it after ' + (Date.now() - start) + ' ms');
  if (Date.now() - start > 1000) return say('nothing after ' + (Date.now() - start) + ' ms');
  await new Promise((resolve) => setTimeout(resolve, 5));
}`,
              ),
            ),
          );
          expect(await trier.line(/^opened /)).to.equal('opened 0');
          await killed(owner);
          trier.stdin.write('go\n');
          const { code, stdout, stderr } = await trier.done;
          expect(code, stderr).to.equal(0);
          expect(stdout, `${call} on a robust handle, its holder dead`).to.match(/^got it after \d+ ms$/m);
        } finally {
          sem.close();
        }
      });
    }

    it('a second robust handle opened in a process that already has one recovers on open', async () => {
      const name = uniqueName('acct-5-open');
      const sem = new Semaphore(name, { value: 1, exclusive: true });
      try {
        const owner = track(holder(name, 'hold-sync'));
        await owner.line(/^holding$/);
        const opener = track(
          runCode(
            childScript(
              name,
              `
const first = new Semaphore(name, { create: false, robust: true });
say('opened ' + first.value);
await next();
const second = new Semaphore(name, { create: false, robust: true });
say('second ' + second.value);`,
            ),
          ),
        );
        expect(await opener.line(/^opened /)).to.equal('opened 0');
        await killed(owner);
        opener.stdin.write('open\n');
        const { code, stdout, stderr } = await opener.done;
        expect(code, stderr).to.equal(0);
        expect(stdout, 'the value the second robust handle sees right after its open').to.match(/^second 1$/m);
      } finally {
        sem.close();
      }
    });
  });

  describe('item 10: close() and garbage collection of a holding releaseOnExit handle agree', () => {
    // The unit belongs to the process: neither close() nor GC posts it; the
    // process gives it back when it exits.
    it('closed: nothing posted at close(); the value is back to its initial value at exit', async () => {
      const name = uniqueName('acct-10-close');
      const sem = new Semaphore(name, { value: 2, exclusive: true });
      try {
        const child = track(
          runCode(
            childScript(
              name,
              `
const sem = new Semaphore(name, { create: false, releaseOnExit: true });
sem.wait();
sem.close();
say('closed');
await next();`,
            ),
          ),
        );
        await child.line(/^closed$/);
        expect(sem.value, 'value between close() and exit').to.equal(1);
        child.stdin.end('exit\n');
        const { code, stderr } = await child.done;
        expect(code, stderr).to.equal(0);
        expect(sem.value, 'value after the process exited').to.equal(2);
      } finally {
        sem.close();
      }
    });

    it('collected without close(): nothing posted at GC time; the value is back to its initial value at exit', async () => {
      const name = uniqueName('acct-10-gc');
      const sem = new Semaphore(name, { value: 2, exclusive: true });
      try {
        const child = track(
          runCode(
            childScript(
              name,
              `
let collected = false;
const registry = new FinalizationRegistry(() => { collected = true; });
(() => {
  const sem = new Semaphore(name, { create: false, releaseOnExit: true });
  sem.wait();
  registry.register(sem, 'handle');
})();
for (let i = 0; i < 50 && !collected; i++) {
  global.gc();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 5));
}
for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve)); // the handle's own finaliser too
say(collected ? 'collected' : 'not collected');
await next();`,
            ),
            { nodeArgs: ['--expose-gc'] },
          ),
        );
        expect(await child.line(/collected$/)).to.equal('collected');
        expect(sem.value, 'value between the collection and exit').to.equal(1);
        child.stdin.end('exit\n');
        const { code, stderr } = await child.done;
        expect(code, stderr).to.equal(0);
        expect(sem.value, 'value after the process exited').to.equal(2);
      } finally {
        sem.close();
      }
    });
  });
});
