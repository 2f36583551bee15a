'use strict';
// `posix-semaphore create NAME --hold`: creates, says so, keeps its handle
// open until SIGINT or SIGTERM, then exits 0 (on Windows, where a name lives
// only while some process holds it, this is how the shell keeps one:
// test/build/win32/core.win32.js runs it there).
const { expect } = require('chai');
const { uniqueName, unlinkAll, run, exists } = require('../support/helpers');
const { CLI, valueOf } = require('../support/cli');

describe('cli create --hold', function () {
  this.timeout(20_000);
  afterEach(unlinkAll);

  for (const signal of ['SIGTERM', 'SIGINT']) {
    it(`creates, holds the handle open until ${signal}, then exits 0`, async () => {
      const name = uniqueName('hold');
      const child = run(CLI, ['create', name, '--value', '3', '--hold']);
      expect(await child.line(/holding it open/)).to.match(/until interrupted/);
      expect(child.exitCode, 'still running').to.equal(null);
      expect(exists(name)).to.equal(true);
      expect(valueOf(name)).to.equal(3);
      child.kill(signal);
      const { code, signal: killedBy, stdout } = await child.done;
      expect({ code, killedBy }).to.deep.equal({ code: 0, killedBy: null });
      expect(stdout).to.match(new RegExp(`^created ${name} with value 3, mode 0600\\n`));
    });
  }
});
