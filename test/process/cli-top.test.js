'use strict';
// `posix-semaphore top` (issue 13): a live view that shows a value change
// made by another process within one refresh; plain lines when stdout is not
// a terminal; on a real pseudo-terminal (script(1)) the alternate screen, and
// q or Ctrl-C quit and give the terminal back as it was.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, run, runToEnd, FIXTURES } = require('../support/helpers');
const { CLI } = require('../support/cli');

const OBSERVED = path.join(FIXTURES, 'observed.js');
const INTERVAL = 250;

/** Resolves when `predicate(text)` holds for the output so far, or rejects after `ms`. */
function until(stream, predicate, ms, what) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      stream.removeListener('data', onData);
      reject(new Error(`no ${what} within ${ms} ms; output so far:\n${text.slice(-2000)}`));
    }, ms);
    const onData = (chunk) => {
      text += chunk;
      const hit = predicate(text);
      if (hit) {
        clearTimeout(timer);
        stream.removeListener('data', onData);
        resolve(hit);
      }
    };
    stream.on('data', onData);
  });
}

/** The plain lines of `top` for `name`, parsed. */
function framesOf(text, name) {
  return text
    .split('\n')
    .filter((line) => line.split(' ')[1] === name)
    .map((line) =>
      Object.fromEntries(
        line
          .split(' ')
          .slice(2)
          .map((kv) => kv.split('=')),
      ),
    );
}

describe('posix-semaphore top', function () {
  afterEach(unlinkAll);

  it("prints one plain line per semaphore per frame when stdout is not a terminal, and shows another process's post within one refresh", async function () {
    const name = uniqueName('top-plain');
    new Semaphore(name, { value: 2, robust: true }).close();
    const holder = run(OBSERVED, [name, 'robust-hold']);
    await holder.line(/^open \d+$/);
    const top = run(CLI, ['top', '--interval', String(INTERVAL), '--match', name]);
    try {
      let seen = '';
      top.stdout.on('data', (chunk) => (seen += chunk));
      await top.line(new RegExp(`^\\S+ ${name} value=1 `));
      const framesBefore = framesOf(seen, name).length;
      const poster = new Semaphore(name, { create: false });
      poster.post(); // another process than top
      poster.close();
      const posted = Date.now();
      await top.line(new RegExp(`^\\S+ ${name} value=2 change=\\+1 `));
      const after = framesOf(seen, name).slice(framesBefore);
      // The frame being drawn at the post may miss it; the next one may not.
      expect(after.length, JSON.stringify(after)).to.be.at.most(2);
      expect(Date.now() - posted).to.be.below(INTERVAL * 2 + 2000); // generous: a loaded machine
      const frame = after.at(-1);
      expect(frame.openers.split(',').map(Number)).to.include(holder.pid);
      expect(frame.holders).to.equal(`${holder.pid}:1`);
      expect(framesOf(seen, name)[0].change).to.equal('-'); // nothing to compare the first frame with
    } finally {
      top.kill('SIGTERM');
      holder.stdin.end();
      await Promise.all([top.done, holder.done]);
    }
  });

  it('--count N shows N frames and exits 0; --json makes them one JSON object a line; a removed name is said so', async function () {
    const name = uniqueName('top-json');
    new Semaphore(name, { value: 3 }).close();
    const json = await runToEnd(CLI, ['top', '--interval', '50', '--count', '2', '--json', '--match', name]);
    expect(json.code, json.stderr).to.equal(0);
    const frames = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(frames).to.have.length(2);
    expect(frames[0].semaphores).to.deep.equal([{ name, value: 3, change: null, openers: [], holders: null }]);
    expect(frames[1].semaphores[0]).to.include({ value: 3, change: 0 });

    const top = run(CLI, ['top', '--interval', '100', '--match', name]);
    try {
      await top.line(new RegExp(`^\\S+ ${name} value=3 `));
      Semaphore.unlink(name);
      await top.line(new RegExp(`^\\S+ ${name} removed$`));
    } finally {
      top.kill('SIGTERM');
      await top.done;
    }
    const bad = await runToEnd(CLI, ['top', '--interval', 'x']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--interval must be a whole number/);
  });

  describe('on a terminal (script(1))', function () {
    before(function () {
      if (spawnSync('script', ['--version']).status !== 0) this.skip(); // util-linux script(1) makes the terminal
    });

    /**
     * Runs top in a pseudo-terminal, inside a shell that prints the terminal
     * settings (stty -g) before and after it: CI has no $SHELL, so the command
     * is given to sh through exec.
     */
    function topInTerminal(name) {
      const inner = `stty -g; ${process.execPath} ${CLI} top --interval ${INTERVAL} --match ${name}; echo "status $?"; stty -g`;
      const terminal = spawn('script', ['-qfec', `exec sh -c '${inner}'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      terminal.stdout.setEncoding('utf8');
      let output = '';
      terminal.stdout.on('data', (chunk) => (output += chunk));
      terminal.output = () => output;
      terminal.closed = new Promise((resolve) => terminal.on('close', (code) => resolve(code)));
      return terminal;
    }

    for (const [key, label] of [
      ['q', 'q'],
      ['\x03', 'Ctrl-C'],
    ]) {
      it(`draws on the alternate screen, shows a post within one refresh, and ${label} quits and restores the terminal`, async function () {
        const name = uniqueName('top-tty');
        new Semaphore(name, { value: 1 }).close();
        const terminal = topInTerminal(name);
        try {
          const row = (value, change) => new RegExp(`${name.replace(/[/]/g, '\\/')} +${value} +${change}`);
          await until(terminal.stdout, (text) => text.includes('\x1b[?1049h') && row(1, '').test(text), 20_000, 'first frame');
          const mark = terminal.output().length;
          const poster = new Semaphore(name, { create: false });
          poster.post();
          poster.close();
          await until(terminal.stdout, () => row(2, '\\+1').test(terminal.output().slice(mark)), INTERVAL * 2 + 3000, 'the post');
          const frames = terminal.output().slice(mark).split('posix-semaphore top').length - 1;
          expect(frames, 'frames drawn until the post showed').to.be.at.most(2);
          terminal.stdin.write(key);
          const code = await terminal.closed;
          const output = terminal.output();
          expect(code, output).to.equal(0);
          expect(output).to.match(/status 0\r?\n/);
          const quitAt = output.lastIndexOf('\x1b[?1049l');
          expect(quitAt, 'left the alternate screen').to.be.above(output.indexOf('\x1b[?1049h'));
          expect(output.lastIndexOf('\x1b[?25h'), 'showed the cursor again').to.be.above(output.lastIndexOf('\x1b[?25l'));
          const settings = output.split(/\r?\n/).filter((line) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(line.trim()));
          expect(settings, output).to.have.length(2);
          expect(settings[1], 'terminal settings after top').to.equal(settings[0]);
        } finally {
          if (terminal.exitCode === null) terminal.kill('SIGKILL');
        }
      });
    }

    it('SIGTERM ends it with 143 and restores the terminal too', async function () {
      const name = uniqueName('top-tty-term');
      new Semaphore(name, { value: 1 }).close();
      const terminal = topInTerminal(name);
      try {
        await until(terminal.stdout, (text) => text.includes('\x1b[?1049h') && text.includes(name), 20_000, 'first frame');
        // top's pid: the node process whose command line watches this name.
        const pid = fs
          .readdirSync('/proc')
          .filter((entry) => /^\d+$/.test(entry))
          .find((entry) => {
            try {
              const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
              return argv[0] === process.execPath && argv.includes('top') && argv.includes(name);
            } catch {
              return false;
            }
          });
        expect(pid, 'top is running').to.be.a('string');
        process.kill(Number(pid), 'SIGTERM');
        const code = await terminal.closed;
        const output = terminal.output();
        expect(code, output).to.equal(0); // the shell's: it goes on after top
        expect(output).to.match(/status 143\r?\n/);
        expect(output.lastIndexOf('\x1b[?1049l')).to.be.above(output.indexOf('\x1b[?1049h'));
        const settings = output.split(/\r?\n/).filter((line) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(line.trim()));
        expect(settings).to.have.length(2);
        expect(settings[1]).to.equal(settings[0]);
      } finally {
        if (terminal.exitCode === null) terminal.kill('SIGKILL');
      }
    });
  });
});
