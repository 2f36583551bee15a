'use strict';
// The `posix-semaphore` command, driven as a user drives it: the real bin
// (node dist/cli/main.js) in child processes, checked by output and exit status:
// help and usage, create, info and list, post, wait and unlink. `run` is in
// cli-run.test.js, `info`'s openers in cli-info.test.js, `top` in
// cli-top.test.js.
const fs = require('node:fs');
const { expect } = require('chai');
const { uniqueName, unlinkAll, exists, run } = require('../support/helpers');
const { CLI, cli, valueOf, make, expectFailure } = require('../support/cli');

const pkg = require('../../package.json');

describe('posix-semaphore command line', function () {
  afterEach(unlinkAll);

  describe('help and usage', function () {
    it('--help lists every command and the exit codes, and exits 0', async function () {
      const { code, stdout } = await cli('--help');
      expect(code).to.equal(0);
      for (const command of ['list', 'info', 'create', 'post', 'wait', 'recover', 'unlink', 'run', 'top', 'demo']) {
        expect(stdout).to.match(new RegExp(`^  ${command} `, 'm'));
      }
      expect(stdout).to.include('124');
    });

    it("COMMAND --help shows that command's usage and options, and exits 0", async function () {
      const expected = {
        list: '--json',
        info: '--json',
        create: '--exclusive',
        post: '--count',
        wait: '--timeout',
        unlink: 'NAME',
        run: '-- COMMAND',
        demo: '--workers',
        top: '--interval',
      };
      const results = await Promise.all(Object.keys(expected).map((command) => cli(command, '--help')));
      Object.keys(expected).forEach((command, i) => {
        expect(results[i].code, command).to.equal(0);
        expect(results[i].stdout, command).to.match(new RegExp(`^Usage: posix-semaphore ${command}\\b`));
        expect(results[i].stdout, command).to.include(expected[command]);
      });
      expect((await cli('help', 'run')).stdout).to.equal(results[6].stdout);
    });

    it('--version prints the version of package.json', async function () {
      const { code, stdout } = await cli('--version');
      expect(code).to.equal(0);
      expect(stdout.trim()).to.equal(pkg.version);
    });

    it('bad usage exits 2 with a message and a hint on stderr', async function () {
      const name = make(uniqueName('usage'));
      const cases = [
        [[], /Usage: posix-semaphore COMMAND/],
        [['frobnicate'], /unknown command 'frobnicate'/],
        [['--frob'], /unknown option '--frob'/],
        [['list', '--frob'], /unknown option '--frob' for 'list'/],
        [['info'], /missing NAME/],
        [['info', name, 'extra'], /unexpected argument 'extra' for 'info'/],
        [['info', 'a/b'], /invalid semaphore name "a\/b"/],
        [['post', name, '--count', 'x'], /--count must be a whole number, not 'x'/],
        [['post', name, '--count', '0'], /--count must be between 1 and/],
        [['post', name, '--count'], /option '--count' needs a value/],
        [['create', name, '--value', '-1'], /option '--value' needs a value/],
        [['create', name, '--value', '1.5'], /--value must be a whole number/],
        [['create', name, '--mode', '999'], /--mode must be octal/],
        [['wait', name, '--timeout', 'soon'], /--timeout must be a number of milliseconds/],
        [['run', name], /missing COMMAND/],
        [['run', '--', 'true'], /missing NAME/],
        [['demo', '--workers', '0'], /--workers must be between 1 and 64/],
      ];
      const results = await Promise.all(cases.map(([args]) => cli(...args)));
      cases.forEach(([args, re], i) => {
        const { code, stdout, stderr } = results[i];
        expect(code, args.join(' ')).to.equal(2);
        expect(stderr, args.join(' ')).to.match(re);
        if (args.length > 0) {
          expect(stderr, args.join(' ')).to.match(/^posix-semaphore: .*\nTry 'posix-semaphore .*--help'\.\n$/);
          expect(stdout, args.join(' ')).to.equal('');
        }
      });
      expect(valueOf(name)).to.equal(1);
    });
  });

  describe('create', function () {
    it('creates with --value and sets --mode exactly, whatever the umask', async function () {
      const name = uniqueName('create');
      const umask = process.umask(0o077);
      let result;
      try {
        result = await cli('create', name, '--value', '3', '--mode', '0640');
      } finally {
        process.umask(umask);
      }
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`created ${name} with value 3, mode 0640\n`);
      expect(valueOf(name)).to.equal(3);
      expect(fs.statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777).to.equal(0o640);
    });

    it('leaves an existing semaphore as it is, or fails with --exclusive', async function () {
      const name = make(uniqueName('exists'), 0);
      const again = await cli('create', name, '--value', '5');
      expect(again.code).to.equal(0);
      expect(again.stdout).to.equal(`${name} exists already with value 0; left as it is\n`);
      expect(valueOf(name)).to.equal(0);
      expectFailure(await cli('create', name, '--exclusive'), 1, new RegExp(`semaphore '${name}' already exists`));
    });
  });

  describe('info and list', function () {
    it('info shows value, mode, owner, size and path; --json the same as an object', async function () {
      const name = make(uniqueName('info'), 2);
      const plain = await cli('info', name);
      expect(plain.code, plain.stderr).to.equal(0);
      expect(plain.stdout).to.match(new RegExp(`^name +${name}$`, 'm'));
      expect(plain.stdout).to.match(/^value +2$/m);
      expect(plain.stdout).to.match(/^mode +0600$/m);
      expect(plain.stdout).to.match(new RegExp(`^owner +\\S+ \\(uid ${process.getuid()}\\)$`, 'm'));
      expect(plain.stdout).to.match(/^size +32 bytes$/m);
      expect(plain.stdout).to.match(new RegExp(`^path +/dev/shm/sem\\.${name.slice(1)}$`, 'm'));

      const json = await cli('info', name, '--json');
      expect(json.code).to.equal(0);
      const info = JSON.parse(json.stdout);
      expect(info).to.include({ name, path: `/dev/shm/sem.${name.slice(1)}`, value: 2, mode: '0600', uid: process.getuid(), size: 32 });
      expect(info).to.have.all.keys(
        'name',
        'path',
        'value',
        'mode',
        'uid',
        'owner',
        'gid',
        'group',
        'size',
        'modified',
        'holders',
        'openers',
        'unlinked',
        'unreadableProcesses',
      );
      expect(info).to.include({ holders: null }); // not robust
    });

    it('info on a missing name exits 1 with one line on stderr, and creates nothing', async function () {
      const name = uniqueName('missing');
      const result = await cli('info', name);
      expectFailure(result, 1, new RegExp(`^posix-semaphore: semaphore '${name}' does not exist; `));
      expect(result.stdout).to.equal('');
      expect(exists(name)).to.equal(false);
    });

    it('list shows the semaphores of /dev/shm with their values, in text and --json', async function () {
      const a = make(uniqueName('list-a'), 0);
      const b = make(uniqueName('list-b'), 7);
      const plain = await cli('list');
      expect(plain.code, plain.stderr).to.equal(0);
      expect(plain.stdout).to.match(/^NAME +VALUE +MODE +OWNER$/m);
      expect(plain.stdout).to.match(new RegExp(`^${a} +0 +0600 +\\S+$`, 'm'));
      expect(plain.stdout).to.match(new RegExp(`^${b} +7 +0600 +\\S+$`, 'm'));

      const json = JSON.parse((await cli('list', '--json')).stdout);
      expect(json.find((d) => d.name === a)).to.include({ value: 0, mode: '0600' });
      expect(json.find((d) => d.name === b)).to.include({ value: 7, mode: '0600' });
      // Opened with create: false and closed again: values untouched.
      expect(valueOf(a)).to.equal(0);
      expect(valueOf(b)).to.equal(7);
    });

    it('list shows a sem.* file too small to be a semaphore without mapping it', async function () {
      const name = uniqueName('not-a-sem');
      fs.writeFileSync(`/dev/shm/sem.${name.slice(1)}`, '');
      const result = await cli('list');
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(new RegExp(`^${name} +\\? \\(not a semaphore\\)`, 'm'));
    });
  });

  describe('post, wait and unlink', function () {
    it('post --count 3 adds 3', async function () {
      const name = make(uniqueName('post'), 1);
      const result = await cli('post', name, '--count', '3');
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`posted 3 to ${name}; value now 4\n`);
      expect(valueOf(name)).to.equal(4);
    });

    it('post on a missing name exits 1 and creates nothing', async function () {
      const name = uniqueName('post-missing');
      expectFailure(await cli('post', name), 1, /does not exist/);
      expect(exists(name)).to.equal(false);
    });

    it('wait takes one unit and keeps it after it exits', async function () {
      const name = make(uniqueName('wait'), 2);
      const result = await cli('wait', name);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal(`took 1 from ${name}; value now 1\n`);
      expect(valueOf(name)).to.equal(1);
    });

    it('wait --timeout exits 124 on a taken semaphore and takes nothing', async function () {
      const name = make(uniqueName('wait-timeout'), 0);
      const started = Date.now();
      const result = await cli('wait', name, '--timeout', '200');
      expect(Date.now() - started).to.be.at.least(200);
      expectFailure(result, 124, new RegExp(`timed out after 200 ms waiting for semaphore '${name}'`));
      expectFailure(await cli('wait', name, '--timeout', '0'), 124, /is taken/);
      expect(valueOf(name)).to.equal(0);
    });

    it('wait returns when another process posts', async function () {
      const name = make(uniqueName('wait-post'), 0);
      const waiter = run(CLI, ['wait', name]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(waiter.exitCode).to.equal(null);
      const post = await cli('post', name);
      expect(post.code).to.equal(0);
      const result = await waiter.done;
      expect(result.code, result.stderr).to.equal(0);
      expect(valueOf(name)).to.equal(0);
    });

    it('unlink removes the name; a second unlink exits 1', async function () {
      const name = make(uniqueName('unlink'));
      const result = await cli('unlink', name);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(`unlinked ${name}\n`);
      expect(exists(name)).to.equal(false);
      expectFailure(await cli('unlink', name), 1, /does not exist/);
    });
  });
});
