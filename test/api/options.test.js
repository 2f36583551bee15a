'use strict';
// Every constructor option, observed from outside where it matters.
const fs = require('node:fs');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, run, runToEnd } = require('../support/helpers');

const modeOf = (name) => fs.statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777;

describe('options', () => {
  afterEach(unlinkAll);

  describe('create', () => {
    it('create: false opens an existing semaphore', () => {
      const name = uniqueName();
      const a = new Semaphore(name, { value: 4 });
      const b = new Semaphore(name, { create: false });
      expect(b.created).to.equal(false);
      expect(b.value).to.equal(4);
      a.close();
      b.close();
    });

    it('create: false on a missing name throws ENOENT and creates nothing', () => {
      const name = uniqueName();
      let error;
      try {
        new Semaphore(name, { create: false });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(Semaphore.SemaphoreError);
      expect(error).to.include({ code: 'ENOENT', errno: 2, syscall: 'sem_open', semaphore: name });
      expect(error.message).to.include(`semaphore '${name}' does not exist; pass create: true or check the name`);
      expect(exists(name)).to.equal(false);
    });

    it('create (default) opens an existing semaphore and reports created: false', () => {
      const name = uniqueName();
      const a = new Semaphore(name);
      const b = new Semaphore(name);
      expect([a.created, b.created]).to.deep.equal([true, false]);
      a.close();
      b.close();
    });
  });

  describe('exclusive', () => {
    it('creates a missing semaphore', () => {
      const sem = new Semaphore(uniqueName(), { exclusive: true, value: 2 });
      expect(sem.created).to.equal(true);
      expect(sem.value).to.equal(2);
      sem.close();
    });

    it('throws EEXIST when the semaphore exists, and leaves it as it was', () => {
      const name = uniqueName();
      const a = new Semaphore(name, { value: 3 });
      expect(() => new Semaphore(name, { exclusive: true, value: 1 }))
        .to.throw(Semaphore.SemaphoreError)
        .that.includes({ code: 'EEXIST', syscall: 'sem_open' });
      expect(a.value).to.equal(3);
      a.close();
    });

    it('with create: false is a contradiction, refused before any syscall', () => {
      const name = uniqueName();
      expect(() => new Semaphore(name, { exclusive: true, create: false }))
        .to.throw(TypeError)
        .with.property('code', 'ERR_INVALID_ARG_VALUE');
      expect(exists(name)).to.equal(false);
    });
  });

  describe('value', () => {
    it('sets the initial count when this call creates the semaphore', () => {
      for (const value of [0, 1, 7, 2147483647]) {
        const sem = new Semaphore(uniqueName(), { value });
        expect(sem.value).to.equal(value);
        sem.close();
      }
    });

    it('is ignored when the semaphore already exists', () => {
      const name = uniqueName();
      const a = new Semaphore(name, { value: 2 });
      const b = new Semaphore(name, { value: 9 });
      expect(b.value).to.equal(2);
      a.close();
      b.close();
    });
  });

  describe('mode', () => {
    it('defaults to 0600', () => {
      const sem = new Semaphore(uniqueName());
      expect(modeOf(sem.name)).to.equal(0o600);
      sem.close();
    });

    it('takes a number or an octal string, and the umask applies as for fs.open', () => {
      const old = process.umask(0o022);
      try {
        const a = new Semaphore(uniqueName(), { mode: 0o644 });
        const b = new Semaphore(uniqueName(), { mode: '0640' });
        const c = new Semaphore(uniqueName(), { mode: 0o666 });
        expect([modeOf(a.name), modeOf(b.name), modeOf(c.name)]).to.deep.equal([0o644, 0o640, 0o644]);
        for (const s of [a, b, c]) s.close();
      } finally {
        process.umask(old);
      }
    });

    it('a 0600 semaphore of another user cannot be opened: EACCES', async function () {
      if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
        // Not root: a mode without owner bits denies the owner too.
        const name = uniqueName();
        const old = process.umask(0);
        try {
          new Semaphore(name, { mode: 0o000 }).close();
        } finally {
          process.umask(old);
        }
        expect(() => new Semaphore(name))
          .to.throw()
          .with.property('code', 'EACCES');
        return;
      }
      const sem = new Semaphore(uniqueName(), { mode: 0o600 });
      try {
        const script = `try { new (require(${JSON.stringify(require.resolve('../..'))}))(${JSON.stringify(sem.name)}) } catch (e) { console.log(e.code, e.syscall); process.exit(0) } console.log('opened')`;
        const { spawnSync } = require('node:child_process');
        const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
        expect(r.stdout.trim(), r.stderr).to.equal('EACCES sem_open');
      } finally {
        sem.close();
      }
    });
  });

  describe('retryOnEintr', () => {
    // A signal the program listens to interrupts a blocked sync wait so that
    // the listener can run; retryOnEintr keeps waiting instead.
    for (const call of ['wait', 'timedWait']) {
      it(`${call}() interrupted by a signal with a listener throws EINTR, then the listener runs`, async () => {
        const sem = new Semaphore(uniqueName(), { value: 0 });
        try {
          const child = run('interrupted.js', [sem.name, call]);
          await child.line(/^blocking$/);
          await new Promise((r) => setTimeout(r, 100));
          child.kill('SIGUSR2');
          const { code, stdout } = await child.done;
          expect(stdout.split('\n').slice(1, 3)).to.deep.equal(['threw EINTR', 'listener ran']);
          expect(code).to.equal(0);
          expect(sem.value).to.equal(0); // it took nothing
        } finally {
          sem.close();
        }
      });

      it(`${call}() with retryOnEintr goes on waiting through the signal and acquires after a post`, async () => {
        const sem = new Semaphore(uniqueName(), { value: 0 });
        try {
          const child = run('interrupted.js', [sem.name, call, 'retry']);
          await child.line(/^blocking$/);
          await new Promise((r) => setTimeout(r, 100));
          child.kill('SIGUSR2');
          await new Promise((r) => setTimeout(r, 200));
          sem.post();
          const { code, stdout } = await child.done;
          expect(stdout.split('\n').slice(1, 3)).to.deep.equal(['acquired', 'listener ran']);
          expect(code).to.equal(0);
          expect(sem.value).to.equal(1); // the child posted back what it took
        } finally {
          sem.close();
        }
      });
    }
  });

  describe('debug', () => {
    const script = (name, options) =>
      `const S = require(${JSON.stringify(require.resolve('../..'))}); const s = new S(${JSON.stringify(name)}, ${options}); s.wait(); s.post(); s.close(); S.unlink(${JSON.stringify(name)})`;
    const runScript = (code, env = {}) => {
      const { spawnSync } = require('node:child_process');
      return spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: '', ...env } });
    };

    it('debug: true prints one line per operation on stderr, prefixed [posix-semaphore]', () => {
      const name = uniqueName();
      const { stderr, status } = runScript(script(name, '{ debug: true }'));
      expect(status).to.equal(0);
      const lines = stderr.trim().split('\n');
      for (const line of lines) expect(line).to.match(new RegExp(`^\\[posix-semaphore\\] \\d+ ${name}: `));
      // the static Semaphore.unlink() has no handle to ask: it logs under NODE_DEBUG only
      expect(lines.map((l) => l.split(': ')[1])).to.deep.equal(['created with value 1', 'sem_wait -> ok', 'sem_post -> ok', 'sem_close']);
    });

    it('NODE_DEBUG=posix-semaphore turns it on for every handle', () => {
      const name = uniqueName();
      const { stderr } = runScript(script(name, '{}'), { NODE_DEBUG: 'net,posix-semaphore' });
      expect(stderr.trim().split('\n')).to.have.length(5);
    });

    it('without either it prints nothing', () => {
      const name = uniqueName();
      const { stderr, stdout } = runScript(script(name, '{}'));
      expect(stderr + stdout).to.equal('');
    });
  });

  describe('closeOnExit', () => {
    // The kernel closes every semaphore of a process that ends: the option is
    // kept for 0.0.x, and no listener does nothing but log (issue 20).
    for (const closeOnExit of ['true', 'false']) {
      it(`closeOnExit: ${closeOnExit}, twenty handles: no listener at all, no warning, nothing printed at exit even with debug`, async () => {
        const sem = new Semaphore(uniqueName());
        try {
          const { stdout, stderr, code } = await runToEnd('listeners.js', [sem.name, '20', closeOnExit, 'debug']);
          expect(code).to.equal(0);
          expect(JSON.parse(stdout)).to.deep.equal({
            added: { exit: 0, SIGINT: 0, SIGTERM: 0, uncaughtException: 0, beforeExit: 0 },
            warnings: [],
          });
          expect(stderr).not.to.match(/exit 0/);
          expect(sem.value).to.equal(1);
          expect(exists(sem.name)).to.equal(true); // closing never unlinks
        } finally {
          sem.close();
        }
      });
    }
  });
});
