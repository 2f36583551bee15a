'use strict';
// `posix-semaphore info` finds who has a semaphore open (issue 13): openers
// in other processes from /proc/*/maps, the creator under glibc's deleted
// temporary name, processes left with an unlinked one, no false openers,
// and what it could not read without root. Also --json errors and -q.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, run, FIXTURES } = require('../support/helpers');
const { CLI, cli } = require('../support/cli');

const OBSERVED = path.join(FIXTURES, 'observed.js');
const NOBODY = 65534;

/** A process that has `name` open (mode: create, open, robust-hold); resolves once it has. */
async function opener(name, mode) {
  const child = run(OBSERVED, [name, mode]);
  const line = await child.line(/^open \d+$/);
  expect(Number(line.split(' ')[1])).to.equal(child.pid);
  return child;
}

async function ended(child) {
  child.stdin.end();
  await child.done;
}

/** Runs the CLI as user `uid` (root only): { code, stdout, stderr }. */
function cliAs(uid, ...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('posix-semaphore info: openers and holders', function () {
  afterEach(unlinkAll);

  it('lists the processes that have it open: an opener by name, the creator as (deleted), and no false openers', async function () {
    const name = uniqueName('openers');
    const other = uniqueName('openers-other');
    const creator = await opener(name, 'create');
    const byName = await opener(name, 'open');
    new Semaphore(other).close();
    const elsewhere = await opener(other, 'open'); // has another semaphore open: not an opener of this one
    const closer = await opener(name, 'open');
    closer.stdin.write('close\n');
    await closer.line(/^closed$/); // had it open, closed it: not an opener any more
    const mine = new Semaphore(name, { create: false });
    mine.close(); // this test process: opened and closed
    try {
      const json = await cli('info', name, '--json');
      expect(json.code, json.stderr).to.equal(0);
      const info = JSON.parse(json.stdout);
      const pids = info.openers.map((o) => o.pid).sort((a, b) => a - b);
      expect(pids).to.deep.equal([creator.pid, byName.pid].sort((a, b) => a - b));
      const created = info.openers.find((o) => o.pid === creator.pid);
      expect(created.deleted).to.equal(true);
      expect(created.path)
        .to.match(/^\/dev\/shm\/sem\./)
        .and.not.equal(`/dev/shm/sem.${name.slice(1)}`);
      expect(created.command).to.include('observed.js');
      expect(info.openers.find((o) => o.pid === byName.pid)).to.include({ deleted: false, path: `/dev/shm/sem.${name.slice(1)}` });
      expect(info.unlinked).to.deep.equal([]);
      expect(info.unreadableProcesses).to.be.a('number');
      expect(info.holders).to.equal(null);

      const plain = await cli('info', name);
      expect(plain.code, plain.stderr).to.equal(0);
      expect(plain.stdout).to.match(/^openers +2$/m);
      expect(plain.stdout).to.match(
        new RegExp(
          `^  pid ${creator.pid}  .*observed\\.js .*\\(deleted: maps /dev/shm/sem\\.\\S+, glibc's temporary name: it created the semaphore\\)$`,
          'm',
        ),
      );
      expect(plain.stdout).to.match(new RegExp(`^  pid ${byName.pid}  .*observed\\.js ${name} open$`, 'm'));
      expect(plain.stdout).not.to.include(`pid ${elsewhere.pid}`);
      expect(plain.stdout).not.to.include(`pid ${closer.pid}`);
      expect(plain.stdout).not.to.include(`pid ${process.pid} `);
    } finally {
      await Promise.all([creator, byName, elsewhere, closer].map(ended));
    }
    const after = JSON.parse((await cli('info', name, '--json')).stdout);
    expect(after.openers).to.deep.equal([]);
  });

  it('finds a creator that unlinked the name, with its opener, and an older unlinked semaphore beside a new one', async function () {
    const name = uniqueName('unlinked');
    const creator = await opener(name, 'create');
    const byName = await opener(name, 'open');
    try {
      creator.stdin.write('unlink\n');
      await creator.line(/^unlinked$/);
      expect(exists(name)).to.equal(false);

      const gone = await cli('info', name);
      expect(gone.code).to.equal(1);
      expect(gone.stdout).to.equal('');
      expect(gone.stderr).to.match(
        new RegExp(
          `does not exist; .*; it was unlinked while processes (${creator.pid}, ${byName.pid}|${byName.pid}, ${creator.pid}) still have it open\\n$`,
        ),
      );
      const goneJson = await cli('info', name, '--json');
      expect(goneJson.code).to.equal(1);
      expect(goneJson.stdout).to.equal('');
      const { error } = JSON.parse(goneJson.stderr);
      expect(error).to.include({ code: 'ENOENT', status: 1, semaphore: name });
      expect(error.unlinked).to.have.length(1);
      const old = error.unlinked[0].openers;
      expect(old.find((o) => o.pid === creator.pid)).to.include({ deleted: true });
      expect(old.find((o) => o.pid === byName.pid)).to.include({ deleted: true, path: `/dev/shm/sem.${name.slice(1)}` });

      // The name made again: a new semaphore, and the old one still open elsewhere.
      const fresh = await opener(name, 'create');
      try {
        const info = JSON.parse((await cli('info', name, '--json')).stdout);
        expect(info.openers.map((o) => o.pid)).to.deep.equal([fresh.pid]);
        expect(info.unlinked).to.have.length(1);
        expect(info.unlinked[0].openers.map((o) => o.pid).sort()).to.deep.equal([creator.pid, byName.pid].sort());
        const plain = await cli('info', name);
        expect(plain.stdout).to.match(/^unlinked +an older semaphore of this name \(inode \d+\), unlinked since, is still open in 2 processes:$/m);
        expect(plain.stdout).to.match(new RegExp(`^  pid ${creator.pid}  .*  \\(created it\\)$`, 'm'));
      } finally {
        await ended(fresh);
      }
    } finally {
      await Promise.all([creator, byName].map(ended));
    }
  });

  it('shows the holders of a robust semaphore beside its openers, in text and --json', async function () {
    const name = uniqueName('holders');
    new Semaphore(name, { value: 2, robust: true }).close();
    const holder = await opener(name, 'robust-hold');
    try {
      const info = JSON.parse((await cli('info', name, '--json')).stdout);
      expect(info.value).to.equal(1);
      expect(info.holders).to.deep.equal([{ pid: holder.pid, units: 1, alive: true, command: info.holders[0].command }]);
      expect(info.openers.map((o) => o.pid)).to.deep.equal([holder.pid]);
      const plain = (await cli('info', name)).stdout;
      expect(plain).to.match(new RegExp(`^holders +1 \\(robust\\)\\n  pid ${holder.pid}  1 unit  alive`, 'm'));
    } finally {
      await ended(holder);
    }
  });

  it("without root, finds the user's own openers and says how many processes it could not read", async function () {
    if (process.getuid() !== 0) this.skip(); // needs root to run the command as another user
    // ... who must be able to read this checkout (not so under /root, say).
    const probe = `require(${JSON.stringify(CLI.replace(/cli\.js$/, 'index.js'))}); require('fs').accessSync(${JSON.stringify(OBSERVED)})`;
    if (spawnSync(process.execPath, ['-e', probe], { uid: NOBODY, gid: NOBODY }).status !== 0) this.skip();
    const name = uniqueName('nobody');
    const sem = new Semaphore(name, { value: 1 });
    fs.chmodSync(`/dev/shm/sem.${name.slice(1)}`, 0o666);
    // An opener of the same user as the command (nobody), and one of root's: this test process.
    const theirs = spawn(process.execPath, [OBSERVED, name, 'open'], { uid: NOBODY, gid: NOBODY, stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await new Promise((resolve, reject) => {
        theirs.stdout.once('data', resolve);
        theirs.once('exit', (code) => reject(new Error(`opener as nobody exited ${code}`)));
      });
      const json = await cliAs(NOBODY, 'info', name, '--json');
      expect(json.code, json.stderr).to.equal(0);
      const info = JSON.parse(json.stdout);
      expect(info.openers.map((o) => o.pid)).to.deep.equal([theirs.pid]); // root's (this process) cannot be seen
      expect(info.unreadableProcesses).to.be.at.least(1);
      const plain = await cliAs(NOBODY, 'info', name);
      expect(plain.code, plain.stderr).to.equal(0);
      expect(plain.stdout).to.match(/^ {2}\(\d+ process(es)? could not be read \(other users'\): run as root to see them\)$/m);
      expect(plain.stdout).to.match(new RegExp(`^  pid ${theirs.pid}  `, 'm'));
    } finally {
      theirs.stdin.end();
      await new Promise((resolve) => (theirs.exitCode !== null ? resolve() : theirs.once('exit', resolve)));
      sem.close();
    }
  });
});

describe('posix-semaphore --json errors and -q/--quiet', function () {
  afterEach(unlinkAll);

  it('under --json a failure is one JSON line on stderr, with the same status and an empty stdout', async function () {
    const missing = uniqueName('json-missing');
    const taken = uniqueName('json-taken');
    new Semaphore(taken, { value: 0 }).close();
    const cases = [
      [['info', missing, '--json'], 1, 'ENOENT'],
      [['post', missing, '--json'], 1, 'ENOENT'],
      [['wait', taken, '--timeout', '50', '--json'], 124, 'ETIMEDOUT'],
      [['wait', taken, '--timeout', '0', '--json'], 124, 'EAGAIN'],
      [['create', taken, '--exclusive', '--json'], 1, 'EEXIST'],
      [['recover', taken, '--json'], 1, 'ERR_FAILURE'],
      [['info', '--json'], 2, 'ERR_USAGE'],
      [['post', taken, '--count', 'x', '--json'], 2, 'ERR_USAGE'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    cases.forEach(([args, status, code], i) => {
      const r = results[i];
      const label = args.join(' ');
      expect(r.code, label).to.equal(status);
      expect(r.stdout, label).to.equal('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, label).to.have.length(1);
      const { error } = JSON.parse(lines[0]);
      expect(error, label).to.include({ code, status });
      expect(error.message, label)
        .to.be.a('string')
        .and.not.match(/^posix-semaphore:/);
    });
    expect(JSON.parse(results[0].stderr).error.message).to.match(new RegExp(`semaphore '${missing}' does not exist`));
    expect(exists(missing)).to.equal(false);
  });

  it('--json on success: create, post, wait and unlink print one object', async function () {
    const name = uniqueName('json-ok');
    const created = await cli('create', name, '--value', '2', '--json');
    expect(JSON.parse(created.stdout)).to.deep.equal({ name, created: true, value: 2, mode: '0600' });
    expect(JSON.parse((await cli('post', name, '--json')).stdout)).to.deep.equal({ name, posted: 1, value: 3 });
    expect(JSON.parse((await cli('wait', name, '--json')).stdout)).to.deep.equal({ name, took: 1, value: 2 });
    expect(JSON.parse((await cli('create', name, '--json')).stdout)).to.deep.equal({ name, created: false, value: 2 });
    expect(JSON.parse((await cli('unlink', name, '--json')).stdout)).to.deep.equal({ name, unlinked: true });
  });

  it('-q/--quiet silences the success lines of create, post, wait, unlink, run and recover, not their errors', async function () {
    const name = uniqueName('quiet');
    const robust = uniqueName('quiet-robust');
    new Semaphore(robust, { robust: true }).close();
    const steps = [
      ['create', name, '--value', '1', '-q'],
      ['post', name, '--count', '2', '--quiet'],
      ['wait', name, '-q'],
      ['run', name, '-q', '--', process.execPath, '-e', ''],
      ['recover', robust, '-q'],
      ['unlink', name, '-q'],
    ];
    for (const args of steps) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(r.stdout, args.join(' ')).to.equal('');
      expect(r.stderr, args.join(' ')).to.equal('');
    }
    expect(exists(name)).to.equal(false);
    const failed = await cli('post', name, '-q');
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.match(/^posix-semaphore: semaphore '.*' does not exist/);
  });
});
