'use strict';
// The command line's paper cuts of the first release: unlink of a missing
// name (its advice, --force), list --match, post --count that cannot fit
// (EOVERFLOW at once, nothing posted), and --json errors with the same
// fields whatever their code.
const { expect } = require('chai');
const { uniqueName, unlinkAll, exists } = require('../support/helpers');
const { cli, valueOf, make, expectFailure } = require('../support/cli');

const SEM_VALUE_MAX = 2 ** 31 - 1; // glibc's on Linux

describe('command line: the first release paper cuts', function () {
  afterEach(unlinkAll);

  describe('unlink of a missing name', function () {
    it('fails with advice about unlinking, not about creating', async function () {
      const name = uniqueName('unlink-missing');
      const result = await cli('unlink', name);
      expectFailure(result, 1, /does not exist, so there is nothing to unlink/);
      expect(result.stderr).to.include('--force');
      expect(result.stderr).not.to.match(/create it/);
    });

    it('--force: exits 0 and says there was nothing to unlink; --json unlinked: false; an existing name is unlinked as before', async function () {
      const name = uniqueName('unlink-force');
      const plain = await cli('unlink', name, '--force');
      expect({ code: plain.code, stdout: plain.stdout, stderr: plain.stderr }).to.deep.equal({
        code: 0,
        stdout: `${name} did not exist; nothing to unlink\n`,
        stderr: '',
      });
      const json = await cli('unlink', name, '--force', '--json');
      expect(json.code).to.equal(0);
      expect(JSON.parse(json.stdout)).to.deep.equal({ name, unlinked: false });
      make(name);
      const there = await cli('unlink', name, '--force', '--json');
      expect(JSON.parse(there.stdout)).to.deep.equal({ name, unlinked: true });
      expect(exists(name)).to.equal(false);
    });
  });

  it('list --match TEXT lists only the names that contain TEXT, in text and --json', async function () {
    const mine = make(uniqueName('match-me'), 3);
    const other = make(uniqueName('other'), 2);
    const text = await cli('list', '--match', 'match-me');
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.include(mine);
    expect(text.stdout).not.to.include(other);
    const json = JSON.parse((await cli('list', '--match', mine.slice(1), '--json')).stdout);
    expect(json.map((d) => d.name)).to.deep.equal([mine]);
    expect(json[0]).to.include({ value: 3 });
    const none = await cli('list', '--match', `${mine}-no-such`, '--json');
    expect(JSON.parse(none.stdout)).to.deep.equal([]);
  });

  it('post --count N that would pass SEM_VALUE_MAX fails at once with EOVERFLOW and posts nothing', async function () {
    const name = make(uniqueName('overflow'), 1);
    const result = await cli('post', name, '--count', String(SEM_VALUE_MAX));
    expectFailure(result, 1, /cannot post 2147483647 .* its value is 1 .* at most 2147483646 more; nothing was posted/);
    expect(valueOf(name)).to.equal(1);
    const json = await cli('post', name, '--count', String(SEM_VALUE_MAX), '--json');
    expect(JSON.parse(json.stderr).error).to.include({ code: 'EOVERFLOW', status: 1, semaphore: name });
    expect(valueOf(name)).to.equal(1);
    // What fits is still posted.
    const fits = await cli('post', name, '--count', '5', '--json');
    expect(JSON.parse(fits.stdout)).to.deep.equal({ name, posted: 5, value: 6 });
  });

  it('--json errors carry code, message, status and semaphore for every code', async function () {
    this.timeout(120_000); // eight commands, each a node process: slow on a loaded machine
    const taken = make(uniqueName('json-taken'), 0);
    const missing = uniqueName('json-missing');
    const cases = [
      [['wait', taken, '--timeout', '30', '--json'], 'ETIMEDOUT', 124, taken],
      [['wait', taken, '--timeout', '0', '--json'], 'EAGAIN', 124, taken],
      [['info', missing, '--json'], 'ENOENT', 1, missing],
      [['post', missing, '--json'], 'ENOENT', 1, missing],
      [['unlink', missing, '--json'], 'ENOENT', 1, missing],
      [['create', taken, '--exclusive', '--json'], 'EEXIST', 1, taken],
      [['post', taken, '--count', 'x', '--json'], 'ERR_USAGE', 2, taken],
      [['list', '--bogus', '--json'], 'ERR_USAGE', 2, null],
    ];
    for (const [args, code, status, semaphore] of cases) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).to.equal(status);
      expect(result.stdout, args.join(' ')).to.equal('');
      const { error } = JSON.parse(result.stderr);
      expect(Object.keys(error).slice(0, 4), args.join(' ')).to.deep.equal(['code', 'message', 'status', 'semaphore']);
      expect(error, args.join(' ')).to.include({ code, status, semaphore });
      expect(error.message, args.join(' ')).to.be.a('string').and.not.equal('');
    }
    expect(valueOf(taken)).to.equal(0);
  });
});
