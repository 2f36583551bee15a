'use strict';
// The `posix-semaphore` command (node dist/cli/main.js) for the CLI tests: run
// to its end, its failures checked, and semaphores made and read around it.
const path = require('node:path');
const { expect } = require('chai');
const { Semaphore, runToEnd, ROOT } = require('./helpers');

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

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

/** Creates `name` with `value` (closing the handle); returns the name. */
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

module.exports = { CLI, cli, valueOf, make, expectFailure };
