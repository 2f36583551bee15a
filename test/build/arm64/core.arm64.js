'use strict';
// The package's core behaviour on linux-arm64, run by `npm run test:arm64`
// (scripts/test-arm64.js), never by `npm test`: mocha under an arm64 node
// in qemu-user, against the packed tarball installed with its linux-arm64
// prebuild. Child processes are arm64 node under qemu too.
//
// Environment (set by scripts/test-arm64.js):
//   POSIX_SEMAPHORE_PACKAGE  the installed package (app/node_modules/posix-semaphore)
//   POSIX_SEMAPHORE_RUN_NODE a JSON array: the command line that runs this arm64 node
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { expect } = require('chai');

const PKG = process.env.POSIX_SEMAPHORE_PACKAGE;
const RUN_NODE = JSON.parse(process.env.POSIX_SEMAPHORE_RUN_NODE || '[]');
const Semaphore = require(PKG);

const PREFIX = `psem-arm64-${process.pid}-`;
let counter = 0;
const made = new Set();
function uniqueName(label) {
  const name = `/${PREFIX}${counter++}-${label}`;
  made.add(name);
  return name;
}

/** Runs `node -e script ...args` (arm64, under qemu) to its end: { code, stdout, stderr }. */
function node(script, args = []) {
  const child = spawn(RUN_NODE[0], [...RUN_NODE.slice(1), '-e', script, ...args], { cwd: path.dirname(path.dirname(PKG)) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return Object.assign(done, { child });
}

const since = (t) => Date.now() - t;

describe(`linux-arm64 (${process.arch}, node ${process.version}, under qemu-user)`, function () {
  this.timeout(120_000);

  after(() => {
    for (const name of made) {
      try {
        Semaphore.unlink(name);
      } catch (err) {
        if (err.code !== 'ENOENT') throw err;
      }
    }
    const left = fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`sem.${PREFIX}`));
    expect(left, 'left in /dev/shm').to.deep.equal([]);
  });

  it('loads the linux-arm64 prebuild, not a build/ folder', () => {
    expect(process.arch).to.equal('arm64');
    const chosen = require(require.resolve('node-gyp-build', { paths: [PKG] })).path(PKG);
    expect(chosen).to.equal(path.join(fs.realpathSync(PKG), 'prebuilds', 'linux-arm64', 'posix-semaphore.glibc.node'));
    expect(fs.existsSync(path.join(PKG, 'build')), 'build/ in the installed package').to.equal(false);
    // qemu-user shows the guest's own mappings here.
    const loaded = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/).slice(5).join(' ')).filter((f) => f.endsWith('.node'));
    expect([...new Set(loaded)]).to.deep.equal([fs.realpathSync(chosen)]);
  });

  it('sync: wait, tryWait (EAGAIN when taken), post, value', () => {
    const sem = new Semaphore(uniqueName('sync'), { value: 2 });
    try {
      sem.wait();
      sem.tryWait();
      expect(sem.value).to.equal(0);
      expect(() => sem.tryWait()).to.throw().with.property('code', 'EAGAIN');
      sem.post();
      sem.post();
      expect(sem.value).to.equal(2);
    } finally {
      sem.close();
    }
  });

  it('timedWait times out (ETIMEDOUT), and returns when another process posts', async () => {
    const sem = new Semaphore(uniqueName('timed'), { value: 0 });
    try {
      let t = Date.now();
      expect(() => sem.timedWait(150)).to.throw().with.property('code', 'ETIMEDOUT');
      expect(since(t)).to.be.within(140, 2000);
      const poster = node(`const S = require(${JSON.stringify(PKG)}); const s = new S(process.argv[1], { create: false }); setTimeout(() => { s.post(); s.close(); }, 300);`, [sem.name]);
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

  it('acquire() times out, and resolves across wait slices when another process posts', async () => {
    const sem = new Semaphore(uniqueName('async'), { value: 0 });
    try {
      let t = Date.now();
      const err = await sem.acquire({ timeout: 250 }).then(() => null, (e) => e);
      expect(err).to.have.property('code', 'ETIMEDOUT');
      expect(since(t)).to.be.within(240, 3000);
      // The event loop keeps turning while the acquire waits on the threadpool.
      let ticks = 0;
      const timer = setInterval(() => ticks++, 20);
      const poster = node(`const S = require(${JSON.stringify(PKG)}); const s = new S(process.argv[1], { create: false }); setTimeout(() => { s.post(); s.close(); }, 500);`, [sem.name]);
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

  it('a worker terminated while blocked in wait() ends promptly and takes nothing', async () => {
    const sem = new Semaphore(uniqueName('worker'), { value: 0 });
    try {
      const worker = new Worker(
        `const S = require(${JSON.stringify(PKG)}); const s = new S(${JSON.stringify(sem.name)}, { create: false });
         require('node:worker_threads').parentPort.postMessage('waiting'); s.wait();`,
        { eval: true },
      );
      await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const t = Date.now();
      await worker.terminate();
      expect(since(t)).to.be.below(5000);
      sem.post();
      expect(sem.value, 'the worker took nothing').to.equal(1);
    } finally {
      sem.close();
    }
  });

  it('two processes share one semaphore: 2 × 100 locked increments of a file lose none', async () => {
    const name = uniqueName('shared');
    const file = path.join(path.dirname(path.dirname(PKG)), `counter-${process.pid}`);
    fs.writeFileSync(file, '0');
    const sem = new Semaphore(name, { value: 1 });
    try {
      const script = `const fs = require('node:fs'); const S = require(${JSON.stringify(PKG)});
        const s = new S(process.argv[1], { create: false });
        (async () => {
          for (let i = 0; i < 100; i++) {
            await s.withLock(() => { const n = Number(fs.readFileSync(process.argv[2], 'utf8')); fs.writeFileSync(process.argv[2], String(n + 1)); });
          }
          s.close();
        })();`;
      const results = await Promise.all([node(script, [name, file]), node(script, [name, file])]);
      for (const { code, stderr } of results) expect(code, stderr).to.equal(0);
      expect(fs.readFileSync(file, 'utf8')).to.equal('200');
      expect(sem.value).to.equal(1);
    } finally {
      sem.close();
      fs.rmSync(file, { force: true });
    }
  });
});
