'use strict';
// Squatting: /dev/shm is shared by every user, so another user can create a
// semaphore under a name this program uses and make it wait, or hand it
// units, at will. Opening an existing semaphore whose file belongs to a user
// other than this process's effective uid or root, and that the options
// trustedUsers / trustedGroups do not trust, throws ERR_SEMAPHORE_UNTRUSTED
// and leaves nothing open. Runs as root (as CI does), with children as
// nobody (65534) and uid 65533 through setpriv.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, mappings, runToEnd, failure, removeCopy, FIXTURES } = require('../support/helpers');

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const NOBODY = 65534;
const NOGROUP = 65534;
const OTHER = 65533; // a uid with no user: nobody else on the machine
const shmFile = (name) => `/dev/shm/sem.${name.slice(1)}`;

/** Runs fixtures/squatter.js (fed on stdin) as uid:gid; resolves { code, signal, stdout, stderr }. */
function asUser(uid, gid, args) {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, '-', ...args], {
      cwd: os.tmpdir(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(fs.readFileSync(path.join(FIXTURES, 'squatter.js')));
  });
}

// The group name of gid 65534 (nogroup on Debian, nobody on Fedora).
function groupName(gid) {
  const line = fs
    .readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(gid));
  return line && line.split(':')[0];
}

describe('squatting: a semaphore made by an untrusted user', function () {
  this.timeout(30_000);
  let skipReason;
  let pkg = ROOT; // the package as user nobody can load it
  let copy;

  before(async function () {
    if (process.platform !== 'linux') skipReason = 'Linux only (/dev/shm)';
    else if (process.getuid() !== 0) skipReason = 'needs root, to run children as other users';
    else if (spawnSync('setpriv', ['--version']).status !== 0) skipReason = "needs util-linux's setpriv";
    if (skipReason) return;
    const probe = await asUser(NOBODY, NOGROUP, ['open', '/psem-probe-does-not-exist', pkg]);
    if (probe.code !== 0) {
      // The checkout is not readable by nobody: a world-readable copy of what the package loads.
      copy = fs.mkdtempSync(path.join(os.tmpdir(), 'posix-semaphore-squatting-'));
      fs.chmodSync(copy, 0o755);
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
      fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
      fs.cpSync(path.join(ROOT, 'build', 'Release'), path.join(copy, 'build', 'Release'), { recursive: true });
      fs.cpSync(path.join(ROOT, 'node_modules', 'node-gyp-build'), path.join(copy, 'node_modules', 'node-gyp-build'), { recursive: true });
      pkg = copy;
      const again = await asUser(NOBODY, NOGROUP, ['open', '/psem-probe-does-not-exist', pkg]);
      if (again.code !== 0) skipReason = `user nobody cannot load the package: ${again.stderr.split('\n')[0]}`;
    }
  });

  beforeEach(function () {
    if (skipReason) {
      this.currentTest.title += ` (skipped: ${skipReason})`;
      this.skip();
    }
  });

  afterEach(unlinkAll);
  after(() => removeCopy(copy));

  /** A semaphore created by uid:gid (mode 0666, value 1); its name. */
  async function createdBy(uid, gid, label) {
    const name = uniqueName(label);
    const made = await asUser(uid, gid, ['create', name, pkg]);
    expect(made.code, made.stderr).to.equal(0);
    const st = fs.statSync(shmFile(name));
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).to.deep.equal({ uid, gid, mode: 0o666 });
    return name;
  }

  for (const options of [{}, { create: false }]) {
    it(`new Semaphore(name, ${JSON.stringify(options)}) of a semaphore created by nobody throws ERR_SEMAPHORE_UNTRUSTED (sem_open) naming nobody (65534), with owner { uid, gid }; nothing left open`, async () => {
      const name = await createdBy(NOBODY, NOGROUP, 'squatted');
      const err = await failure(() => new Semaphore(name, options));
      expect(err).to.be.an.instanceOf(Semaphore.SemaphoreError);
      expect(err).to.include({ code: 'ERR_SEMAPHORE_UNTRUSTED', syscall: 'sem_open' });
      expect(err.message).to.include('nobody').and.to.include('65534');
      expect(err.owner).to.deep.equal({ uid: NOBODY, gid: NOGROUP });
      expect(mappings(name), 'mappings of it in this process').to.equal(0);
      expect(fs.statSync(shmFile(name)).uid, 'the file is left as it was').to.equal(NOBODY);
    });
  }

  for (const [label, options] of [
    ["trustedUsers: ['nobody']", { trustedUsers: ['nobody'] }],
    ['trustedUsers: [65534]', { trustedUsers: [NOBODY] }],
    ['trustedGroups: [65534]', { trustedGroups: [NOGROUP] }],
    ['trustedGroups: [its group name]', { trustedGroups: [groupName(NOGROUP) ?? 'nogroup'] }],
  ]) {
    it(`with ${label} the semaphore created by nobody opens`, async () => {
      const name = await createdBy(NOBODY, NOGROUP, 'trusted');
      const sem = new Semaphore(name, options);
      try {
        expect(sem.created).to.equal(false);
        expect(sem.value).to.equal(1);
      } finally {
        sem.close();
      }
    });
  }

  it('trusting another user or group does not trust nobody', async () => {
    const name = await createdBy(NOBODY, NOGROUP, 'not-trusted');
    const err = await failure(() => new Semaphore(name, { trustedUsers: [OTHER, 'root'], trustedGroups: [0] }));
    expect(err).to.include({ code: 'ERR_SEMAPHORE_UNTRUSTED', syscall: 'sem_open' });
  });

  it('a semaphore created by root opens for user nobody (root is trusted)', async () => {
    const name = uniqueName('root-made');
    const sem = new Semaphore(name, { value: 1 });
    try {
      fs.chmodSync(shmFile(name), 0o666);
      const opened = await asUser(NOBODY, NOGROUP, ['open', name, pkg]);
      expect(opened.code, opened.stderr).to.equal(0);
      expect(JSON.parse(opened.stdout)).to.deep.equal({ opened: true });
    } finally {
      sem.close();
    }
  });

  it('a semaphore created by uid 65533 is refused to user nobody: ERR_SEMAPHORE_UNTRUSTED naming uid 65533', async () => {
    const name = await createdBy(OTHER, OTHER, 'other-user');
    const opened = await asUser(NOBODY, NOGROUP, ['open', name, pkg]);
    expect(opened.code, opened.stderr).to.equal(0);
    const { error } = JSON.parse(opened.stdout);
    expect(error, opened.stdout).to.include({ code: 'ERR_SEMAPHORE_UNTRUSTED', syscall: 'sem_open' });
    expect(error.message).to.include('65533');
    expect(error.owner).to.deep.equal({ uid: OTHER, gid: OTHER });
  });

  it('a semaphore this process created itself opens again (no false positive), as does one made by its own uid in another process', async () => {
    const name = uniqueName('own');
    const sem = new Semaphore(name, { value: 1 });
    try {
      const again = new Semaphore(name);
      expect(again.created).to.equal(false);
      again.close();
      const made = await asUser(NOBODY, NOGROUP, ['create', uniqueName('own-nobody'), pkg]);
      expect(made.code, made.stderr).to.equal(0);
    } finally {
      sem.close();
    }
    const name2 = uniqueName('own-nobody-2');
    expect((await asUser(NOBODY, NOGROUP, ['create', name2, pkg])).code).to.equal(0);
    const opened = await asUser(NOBODY, NOGROUP, ['open', name2, pkg]);
    expect(JSON.parse(opened.stdout)).to.deep.equal({ opened: true });
  });

  it('`posix-semaphore post NAME` on a squatted name exits 1 naming the owner; with --trust-user nobody it posts', async () => {
    const name = await createdBy(NOBODY, NOGROUP, 'squatted-cli');
    const refused = await runToEnd(CLI, ['post', name]);
    expect({ code: refused.code, signal: refused.signal }, refused.stderr + refused.stdout).to.deep.equal({ code: 1, signal: null });
    expect(refused.stderr).to.match(/^posix-semaphore: .*nobody/m);
    const trusted = await runToEnd(CLI, ['post', name, '--trust-user', 'nobody']);
    expect(trusted.code, trusted.stderr).to.equal(0);
    const sem = new Semaphore(name, { trustedUsers: [NOBODY] });
    try {
      expect(sem.value).to.equal(2);
    } finally {
      sem.close();
    }
  });
});
