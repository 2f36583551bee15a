'use strict';
// In CI a skipped test fails the run unless test/support/skips.js lists it
// (issue 20): the reporter turns it into a failure, so mocha exits non-zero.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { expect } = require('chai');

const ROOT = path.join(__dirname, '..', '..');
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
const SUITE = path.join(ROOT, 'test', 'fixtures', 'skipping-suite.js');

function runSuite(env) {
  const args = [MOCHA, '--no-config', '--reporter', path.join(ROOT, 'test', 'support', 'reporter.js'), SUITE];
  return spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('skipped tests in CI', () => {
  it('with CI=true, a skipped test that skips.js does not list fails the run, and is named', () => {
    const { status, stdout } = runSuite({ CI: 'true' });
    expect(status, stdout).to.equal(1);
    expect(stdout).to.match(/skipped in CI, and not in test\/support\/skips\.js/);
    expect(stdout).to.include('  - skips itself');
    expect(stdout).to.match(/^mocha: 1 passed, 1 failed, 1 skipped$/m);
  });

  it('outside CI it is reported as skipped and the run passes', () => {
    const { status, stdout } = runSuite({ CI: '' });
    expect(status, stdout).to.equal(0);
    expect(stdout).to.match(/^mocha: 1 passed, 0 failed, 1 skipped$/m);
  });

  it('every entry of skips.js says why', () => {
    const { ALLOWED } = require('../support/skips');
    for (const entry of ALLOWED) expect(entry.why, String(entry.title)).to.be.a('string').with.length.above(20);
  });
});
