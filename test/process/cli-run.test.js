'use strict';
// `posix-semaphore run NAME -- COMMAND`, driven as a user drives it: holds
// the semaphore while the command runs, releases however it ends, exits with
// its status (128+N for a signal), forwards SIGTERM and SIGINT, and creates
// a missing semaphore when asked.
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { expect } = require('chai');
const { uniqueName, unlinkAll, mappings, run, FIXTURES } = require('../support/helpers');
const { CLI, cli, valueOf, make, expectFailure } = require('../support/cli');

const CHILD = path.join(FIXTURES, 'cli-child.js');

describe('posix-semaphore command line', function () {
  afterEach(unlinkAll);

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
