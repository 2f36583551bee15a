'use strict';
// Permission modes as text: one rule for the API (`mode: '0640'`) and the
// command line (`create --mode 0640`), chmod(1)'s: 1 to 4 octal digits read
// as octal ('7' is 0007, '600' is 0600), at most 0777. Each case runs through
// both, and a refused one leaves nothing in /dev/shm.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, exists, runToEnd } = require('../support/helpers');

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const modeOf = (name) => fs.statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777;

const ACCEPTED = [
  ['0', 0o000],
  ['7', 0o007],
  ['60', 0o060],
  ['600', 0o600],
  ['0600', 0o600],
  ['640', 0o640],
  ['777', 0o777],
  ['0777', 0o777],
  ['0000', 0o000],
];

// [text, the API's error code]: not 1 to 4 octal digits, or above 0777.
const REFUSED = [
  ['', 'ERR_INVALID_ARG_VALUE'],
  ['8', 'ERR_INVALID_ARG_VALUE'],
  ['999', 'ERR_INVALID_ARG_VALUE'],
  ['0o600', 'ERR_INVALID_ARG_VALUE'],
  ['0x180', 'ERR_INVALID_ARG_VALUE'],
  ['00600', 'ERR_INVALID_ARG_VALUE'],
  ['-600', 'ERR_INVALID_ARG_VALUE'],
  ['+600', 'ERR_INVALID_ARG_VALUE'],
  [' 600', 'ERR_INVALID_ARG_VALUE'],
  ['600\n', 'ERR_INVALID_ARG_VALUE'],
  ['6.0', 'ERR_INVALID_ARG_VALUE'],
  ['rw-------', 'ERR_INVALID_ARG_VALUE'],
  ['1777', 'ERR_OUT_OF_RANGE'],
  ['7777', 'ERR_OUT_OF_RANGE'],
];

describe('mode as text: one rule for the API and the command line', function () {
  afterEach(unlinkAll);

  it('new Semaphore(name, { mode: TEXT }) takes 1 to 4 octal digits up to 0777, as chmod(1) reads them', function () {
    const old = process.umask(0);
    try {
      for (const [text, mode] of ACCEPTED) {
        const sem = new Semaphore(uniqueName('mode-api'), { mode: text });
        expect(modeOf(sem.name), JSON.stringify(text)).to.equal(mode);
        sem.close();
      }
    } finally {
      process.umask(old);
    }
  });

  it('new Semaphore(name, { mode: TEXT }) refuses anything else before any syscall', function () {
    for (const [text, code] of REFUSED) {
      const name = uniqueName('mode-api');
      expect(() => new Semaphore(name, { mode: text }), JSON.stringify(text))
        .to.throw()
        .with.property('code', code);
      expect(exists(name), JSON.stringify(text)).to.equal(false);
    }
  });

  it('create --mode TEXT takes the same texts and sets the same mode', async function () {
    const names = ACCEPTED.map(() => uniqueName('mode-cli'));
    const results = await Promise.all(ACCEPTED.map(([text], i) => runToEnd(CLI, ['create', names[i], `--mode=${text}`, '--json'])));
    ACCEPTED.forEach(([text, mode], i) => {
      const { code, stdout, stderr } = results[i];
      expect(code, `--mode=${JSON.stringify(text)}: ${stderr}`).to.equal(0);
      expect(JSON.parse(stdout).mode, JSON.stringify(text)).to.equal(mode.toString(8).padStart(4, '0'));
      expect(modeOf(names[i]), JSON.stringify(text)).to.equal(mode);
    });
  });

  it('create --mode TEXT refuses the same texts: bad usage (exit 2), nothing created', async function () {
    const names = REFUSED.map(() => uniqueName('mode-cli'));
    const results = await Promise.all(REFUSED.map(([text], i) => runToEnd(CLI, ['create', names[i], `--mode=${text}`])));
    REFUSED.forEach(([text], i) => {
      const { code, stderr } = results[i];
      expect(code, `--mode=${JSON.stringify(text)}`).to.equal(2);
      expect(stderr, JSON.stringify(text)).to.match(
        /^posix-semaphore: --mode must be octal permission bits like 0600 or 640 \(1 to 4 octal digits, at most 0777\), not '/,
      );
      expect(exists(names[i]), JSON.stringify(text)).to.equal(false);
    });
  });
});
