'use strict';
// `posix-semaphore demo` (what `npm run demo` runs), piped: plain progress
// lines, a summary, the exit status, and nothing left behind.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const { run, runToEnd } = require('../support/helpers');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

describe('demo', function () {
  this.slow(5000);
  let tmp;

  beforeEach(function () {
    // The demo's counter file goes to os.tmpdir(): give it one to check.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-test-demo-'));
  });

  afterEach(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function demo(...args) {
    return run(CLI, ['demo', ...args], { env: { TMPDIR: tmp } });
  }

  function expectCleanedUp(pid) {
    expect(fs.existsSync(`/dev/shm/sem.posix-semaphore-demo-${pid}`), 'semaphore left in /dev/shm').to.equal(false);
    expect(fs.readdirSync(tmp), 'files left in TMPDIR').to.deep.equal([]);
  }

  it('runs 4 workers to a summary with no update lost, exits 0 and cleans up', async function () {
    const child = demo();
    const { code, stdout, stderr } = await child.done;
    expect(code, stderr).to.equal(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(
      new RegExp(
        `^4 workers × 250 updates of one counter file under semaphore /posix-semaphore-demo-${child.pid} \\(value 1\\), await acquire\\(\\)$`,
      ),
    );
    expect(lines.at(-1)).to.match(
      /^ok: counter 1000 = 4 × 250, no update lost; \d+ updates\/s over \d+\.\d\d s; worst event-loop delay in a waiting worker \d+\.\d ms$/,
    );
    for (let w = 1; w <= 4; w++) {
      expect(stdout).to.match(
        new RegExp(`^  w${w}: 250 updates, waited \\d+\\.\\d\\d s in all, worst event-loop delay while waiting \\d+\\.\\d ms$`, 'm'),
      );
    }
    // Piped: plain lines (no carriage returns or escapes), at most two a second.
    // eslint-disable-next-line no-control-regex -- ESC is what must not appear
    expect(stdout).not.to.match(/[\r\x1b]/);
    const progress = lines.filter((line) => /updates .* ops\/s/.test(line) && !line.startsWith('ok'));
    for (const line of progress)
      expect(line).to.match(/^ +\d+\.\ds {2}holder (w\d|-) +queue \d  +\d+\/1000 updates +\d+ ops\/s {2}worst loop delay \d+\.\d ms$/);
    const seconds = Number(/over (\d+\.\d+) s/.exec(lines.at(-1))[1]);
    expect(progress.length).to.be.at.most(Math.ceil(seconds * 2) + 1);
    expectCleanedUp(child.pid);
  });

  it('with --value 2 the lost updates are the lesson asked for: said so, not FAILED, exit 0', async function () {
    const child = demo('--value', '2', '--iterations', '40');
    const { code, stdout } = await child.done;
    expect(stdout).not.to.match(/FAILED/);
    expect(stdout).to.match(
      /^(as expected with --value 2: \d+ updates? lost|no update lost this time) \(counter \d+ of 160\).*which is the lesson of --value 2; with value 1 \(the default\) none are lost; /m,
    );
    expect(code).to.equal(0);
    expectCleanedUp(child.pid);
  });

  it('stops its workers and cleans up on SIGINT, exiting 130', async function () {
    const child = demo('--iterations', '100000');
    await child.line(/updates .* ops\/s/);
    child.kill('SIGINT');
    const { code, stdout } = await child.done;
    expect(code).to.equal(130);
    expect(stdout).to.match(/^interrupted \(SIGINT\): counter \d+ of 400000$/m);
    expectCleanedUp(child.pid);
  });

  it("npm run demo (the README's first command) builds what is missing and runs it", async function () {
    this.timeout(60000);
    const npm = spawn('npm', ['run', '--silent', 'demo', '--', '--iterations', '20'], {
      cwd: path.join(__dirname, '..', '..'),
      // npm on Node.js 22+ keeps a compile cache in TMPDIR/node-compile-cache: not the demo's file.
      env: { ...process.env, TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    npm.stdout.on('data', (chunk) => (stdout += chunk));
    const code = await new Promise((resolve) => npm.on('close', resolve));
    expect(code, stdout).to.equal(0);
    expect(stdout).to.match(/^ok: counter 80 = 4 × 20, no update lost; /m);
    expect(fs.readdirSync(tmp)).to.deep.equal([]);
  });

  it('a TMPDIR that does not exist: exits 1 saying why, and leaves no semaphore behind', async function () {
    const child = run(CLI, ['demo', '--iterations', '5'], { env: { TMPDIR: path.join(tmp, 'missing') } });
    const { code, stderr } = await child.done;
    expect(code).to.equal(1);
    expect(stderr).to.match(/ENOENT.*mkdtemp/);
    expectCleanedUp(child.pid);
  });

  it('demo --help describes the options and exits 0', async function () {
    const { code, stdout } = await runToEnd(CLI, ['demo', '--help']);
    expect(code).to.equal(0);
    for (const flag of ['--workers', '--iterations', '--value', '--sync']) expect(stdout).to.include(flag);
  });
});
