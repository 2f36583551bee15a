'use strict';
// posix-semaphore/redis, the entry: what it exports (the main entry's own
// classes), what it loads (neither the addon nor ioredis until used), what
// it says when ioredis is missing, and its argument checks.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { expect } = require('chai');
const Semaphore = require('posix-semaphore');
const { RedisSemaphore } = require('posix-semaphore/redis');
const { runToEnd, FIXTURES, ROOT } = require('../support/helpers');

describe('posix-semaphore/redis: the entry', () => {
  let tmp;
  afterEach(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('exports RedisSemaphore, SemaphoreError and AbortError (the same classes as the main entry), loading neither the addon nor ioredis', async () => {
    const { code, stdout, stderr } = await runToEnd('redis-entry.js');
    expect(code, stderr).to.equal(0);
    const out = JSON.parse(stdout);
    expect(out.exports).to.deep.equal(['AbortError', 'RedisSemaphore', 'SemaphoreError']);
    expect(out.loaded).to.deep.equal([]);
    const entry = require('posix-semaphore/redis');
    expect(entry.SemaphoreError).to.equal(Semaphore.SemaphoreError);
    expect(entry.AbortError).to.equal(Semaphore.AbortError);
    expect(entry.RedisSemaphore).to.equal(RedisSemaphore);
  });

  it('installed without ioredis or the addon: the entry loads, and the constructor says what to install', async () => {
    // A project holding only the package's package.json and dist/: no build/,
    // no prebuilds/, no peers.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'psem-redis-entry-'));
    const pkg = path.join(tmp, 'node_modules', 'posix-semaphore');
    fs.mkdirSync(pkg, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'redis-entry.js'), path.join(tmp, 'redis-entry.js'));
    const { code, stdout, stderr } = await runToEnd(path.join(tmp, 'redis-entry.js'), ['construct'], { cwd: tmp });
    expect(code, stderr).to.equal(0);
    const out = JSON.parse(stdout);
    expect(out.exports).to.include('RedisSemaphore');
    expect(out.error.code).to.equal('MODULE_NOT_FOUND');
    expect(out.error.message).to.match(/needs the package 'ioredis'.*npm install ioredis/);
  });

  it('checks its arguments before touching Redis', () => {
    const codeOf = (fn) => {
      try {
        fn();
      } catch (err) {
        return `${err.constructor.name} ${err.code}`;
      }
      return 'no error';
    };
    const make = (name, options) => () => new RedisSemaphore(name, options);
    expect(codeOf(make(42))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make(''))).to.equal('TypeError ERR_INVALID_ARG_VALUE');
    expect(codeOf(make('x', 'redis://'))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { url: 6379 }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { client: {} }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { value: 0 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { value: 1.5 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { value: '2' }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { leaseMs: 5 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { leaseMs: 1000, refreshMs: 1000 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { retryMs: 0 }))).to.equal('RangeError ERR_OUT_OF_RANGE');
    expect(codeOf(make('x', { onLostLease: 'log' }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
    expect(codeOf(make('x', { debug: 1 }))).to.equal('TypeError ERR_INVALID_ARG_TYPE');
  });
});
