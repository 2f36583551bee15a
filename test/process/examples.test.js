'use strict';
// The examples of the original README, kept verbatim in examples/, behave
// as that README says.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, FIXTURES } = require('../support/helpers');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

// Runs an example with stdout and stderr on one pipe, so that the order of
// lines across processes is preserved.
//
// --min-semi-space-size: in the inter-process example `bufParent` is garbage
// as soon as parentProcess() returns, and shm-typed-array destroys a segment
// when its buffer is collected; an early scavenge then leaves the child
// nothing to read. The original package ran it by the same luck. A larger
// young generation keeps that scavenge from happening in the first second.
function runExample(file, name) {
  return new Promise((resolve, reject) => {
    const args = ['--min-semi-space-size=16', '-r', path.join(FIXTURES, 'rename-semaphore.js'), path.join(EXAMPLES, file)];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, PSEM_TEST_NAME: name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output: output.replace(/\0+/g, '') }));
  });
}

describe('the original README examples', () => {
  afterEach(unlinkAll);

  it('Example 1: wait, post, close, unlink', async () => {
    const name = uniqueName('example1');
    const { code, output } = await runExample('example1.js', name);
    expect(output).to.equal('');
    expect(code).to.equal(0);
    expect(exists(name)).to.equal(false);
  });

  it('Example 2: tryWait succeeds on a free semaphore, and cleans up', async () => {
    const name = uniqueName('example2');
    const { code, output } = await runExample('example2.js', name);
    expect(output).to.equal('');
    expect(code).to.equal(0);
    expect(exists(name)).to.equal(false);
  });

  it('Example 2: tryWait throws when the semaphore is taken, and the catch prints it', async () => {
    const name = uniqueName('example2-taken');
    const holder = new Semaphore(name, { value: 1 });
    holder.wait();
    try {
      const { code, output } = await runExample('example2.js', name);
      expect(code).to.equal(0);
      expect(output).to.match(/SemaphoreError/);
      expect(output).to.match(/EAGAIN/);
      expect(holder.value).to.equal(0); // the example took nothing
      expect(exists(name)).to.equal(false); // its finally unlinked the name
    } finally {
      holder.close();
    }
  });

  it('inter-process example: the child prints "hi there :)" only after the parent posts', async function () {
    // The example needs shm-typed-array (a devDependency here; its users
    // install it). It is a NAN addon, built for the node that ran npm ci:
    // under another Node.js line of the runtime matrix (scripts/runtimes.js)
    // it cannot load, and only there is that a reason to skip.
    if (process.env.POSIX_SEMAPHORE_RUNTIME_MATRIX) {
      try {
        require('shm-typed-array');
      } catch (err) {
        if (err.code !== 'ERR_DLOPEN_FAILED') throw err;
        console.log(`      (skipped under ${process.version}: shm-typed-array was built for another Node.js ABI)`);
        this.skip();
      }
    }
    const name = uniqueName('inter-process');
    const { code, output } = await runExample('inter-process.js', name);
    expect(code).to.equal(0);
    const lines = output.split('\n');
    const posted = lines.findIndex((l) => /sem_post -> ok/.test(l));
    const printed = lines.findIndex((l) => l.includes('hi there :)'));
    expect(posted, output).to.be.at.least(0);
    expect(printed, output).to.be.greaterThan(posted);
    // the child's wait succeeded before it printed
    const childWaited = lines.findIndex((l, i) => i > posted && /sem_wait -> ok/.test(l));
    expect(childWaited, output).to.be.within(posted + 1, printed - 1);
    Semaphore.unlink(name); // the example leaves its semaphore, as the original did
  });
});

describe('examples/service.js (the README service)', () => {
  afterEach(unlinkAll);

  it('renders at most 2 at once across requests, answers /health meanwhile, and gives every unit back', async () => {
    const http = require('node:http');
    const get = (port, p) =>
      new Promise((resolve, reject) => {
        http
          .get({ port, path: p }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode, body, at: Date.now() }));
          })
          .on('error', reject);
      });
    const name = uniqueName('service');
    const child = spawn(process.execPath, [path.join(EXAMPLES, 'service.js')], {
      env: { ...process.env, PORT: '0', SEM_NAME: name },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise((resolve) => {
        child.stdout.on('data', (d) => {
          const m = /listening on (\d+)/.exec(String(d));
          if (m) resolve(Number(m[1]));
        });
      });
      const start = Date.now();
      const renders = [1, 2, 3, 4].map((i) => get(port, `/render${i}`));
      await new Promise((r) => setTimeout(r, 100));
      const health = await get(port, '/health');
      expect(health.body).to.equal('ok\n');
      expect(health.at - start).to.be.below(400); // not stuck behind the renders
      const done = (await Promise.all(renders)).map((r) => r.at - start).sort((a, b) => a - b);
      // 500 ms each, two at a time: two finish near 0.5 s, two near 1 s.
      expect(done[1]).to.be.below(900);
      expect(done[2]).to.be.at.least(950);
      const sem = new Semaphore(name, { create: false });
      expect(sem.value).to.equal(2);
      sem.close();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('close', r));
    }
  });
});
