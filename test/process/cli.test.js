'use strict';
// The `posix-semaphore` command, driven as a user drives it: the real bin
// (node dist/cli.js) in child processes, checked by output and exit status.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, mappings, run, runToEnd, FIXTURES } = require('../support/helpers');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const CHILD = path.join(FIXTURES, 'cli-child.js');
const pkg = require('../../package.json');

/** Runs `posix-semaphore ...args` to its end: { code, signal, stdout, stderr }. */
function cli(...args) {
  return runToEnd(CLI, args);
}

/** The value of a semaphore, read through a handle of this process. */
function valueOf(name) {
  const sem = new Semaphore(name, { create: false });
  try {
    return sem.value;
  } finally {
    sem.close();
  }
}

function make(name, value = 1) {
  new Semaphore(name, { value }).close();
  return name;
}

/** Asserts a failure: the status, and one line on stderr that matches `re`. */
function expectFailure(result, status, re) {
  expect(result.code, result.stderr).to.equal(status);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines[0]).to.match(/^posix-semaphore: /);
  expect(lines[0]).to.match(re);
  if (status === 1 || status === 124) expect(lines).to.have.length(1);
}

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

    it('COMMAND --help shows that command\'s usage and options, and exits 0', async function () {
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
        'name', 'path', 'value', 'mode', 'uid', 'owner', 'gid', 'group', 'size', 'modified',
        'holders', 'openers', 'unlinked', 'unreadableProcesses',
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

  describe('run', function () {
    it('holds the semaphore while the command runs: a second run times out with 124', async function () {
      const name = make(uniqueName('run-hold'));
      const first = run(CLI, ['run', name, '--', process.execPath, CHILD, 'hold']);
      await first.line(/^holding$/);
      expect(valueOf(name)).to.equal(0);

      const second = await cli('run', name, '--timeout', '200', '--', process.execPath, CHILD, 'exit', '0');
      expectFailure(second, 124, new RegExp(`timed out after 200 ms waiting for semaphore '${name}'`));

      first.stdin.end(); // the command exits 0
      const result = await first.done;
      expect(result.code, result.stderr).to.equal(0);
      expect(valueOf(name)).to.equal(1);
    });

    it('releases and exits with the status of a command that fails', async function () {
      const name = make(uniqueName('run-fail'));
      const result = await cli('run', name, '--', process.execPath, CHILD, 'exit', '3');
      expect(result.code).to.equal(3);
      expect(valueOf(name)).to.equal(1);
    });

    it('releases and exits 128+N when a signal kills the command', async function () {
      const name = make(uniqueName('run-killed'));
      const result = await cli('run', name, '--', process.execPath, CHILD, 'kill', 'SIGKILL');
      expect(result.code).to.equal(137);
      expect(valueOf(name)).to.equal(1);
    });

    it('forwards SIGTERM to the command and exits with its status', async function () {
      const name = make(uniqueName('run-term'));
      const trapping = run(CLI, ['run', name, '--', process.execPath, CHILD, 'trap']);
      await trapping.line(/^ready$/);
      trapping.kill('SIGTERM');
      const result = await trapping.done;
      expect(result.stdout).to.include('got SIGTERM');
      expect(result.code).to.equal(5);
      expect(valueOf(name)).to.equal(1);

      const plain = run(CLI, ['run', name, '--', process.execPath, CHILD, 'hold']);
      await plain.line(/^holding$/);
      plain.kill('SIGTERM');
      expect((await plain.done).code).to.equal(143);
      expect(valueOf(name)).to.equal(1);
    });

    it('forwards a SIGINT that was sent to it alone', async function () {
      const name = make(uniqueName('run-int'));
      // A session of its own: no terminal could have sent SIGINT to the command too.
      const child = spawn(process.execPath, [CLI, 'run', name, '--', process.execPath, CHILD, 'count-sigint'], {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await new Promise((resolve) => child.stdout.once('data', resolve));
      process.kill(child.pid, 'SIGINT');
      const [code] = await new Promise((resolve) => child.on('close', (...args) => resolve(args)));
      expect(code, 'SIGINTs the command received').to.equal(1);
      expect(valueOf(name)).to.equal(1);
    });

    it('delivers a Ctrl-C at a terminal to the command once, not twice', async function () {
      if (spawnSync('script', ['--version']).status !== 0) this.skip(); // util-linux script(1) makes the terminal
      const name = make(uniqueName('run-tty'));
      // exec: script(1) runs the command with $SHELL -c, and a non-interactive
      // dash that stays to wait would itself die of the Ctrl-C (exit 130).
      const command = ['exec', process.execPath, CLI, 'run', name, '--', process.execPath, CHILD, 'count-sigint'].join(' ');
      const terminal = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      terminal.stdout.on('data', (chunk) => {
        if (!output.includes('ready') && (output += chunk).includes('ready')) terminal.stdin.write('\x03');
      });
      const [code] = await new Promise((resolve) => terminal.on('close', (...args) => resolve(args)));
      expect(code, `SIGINTs the command received\n${output}`).to.equal(1);
      expect(valueOf(name)).to.equal(1);
    });

    it('exits 128+N without running the command when a signal ends its wait', async function () {
      const name = make(uniqueName('run-wait-signal'), 0);
      const waiting = run(CLI, ['run', name, '--', process.execPath, CHILD, 'exit', '0']);
      // Opened (its listeners come in the same tick), then a little more for a loaded machine.
      while (mappings(name, waiting.pid) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100));
      waiting.kill('SIGTERM');
      const result = await waiting.done;
      expect(result.code).to.equal(143);
      expect(valueOf(name)).to.equal(0);
    });

    it('creates a missing semaphore with --value and takes the command after NAME without --', async function () {
      const name = uniqueName('run-create');
      const print = 'console.log(process.argv.slice(1).join(" "))';
      const result = await cli('run', name, '--value', '2', process.execPath, '-e', print, '--', '--timeout', '5');
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal('--timeout 5\n');
      expect(valueOf(name)).to.equal(2);
    });

    it('exits 127 and releases when the command does not exist', async function () {
      const name = make(uniqueName('run-enoent'));
      const result = await cli('run', name, '--', 'posix-semaphore-no-such-command');
      expect(result.code).to.equal(127);
      expect(result.stderr).to.match(/cannot run 'posix-semaphore-no-such-command': command not found/);
      expect(valueOf(name)).to.equal(1);
    });
  });
});
