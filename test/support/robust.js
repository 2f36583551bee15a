'use strict';
// Robust ownership (robust: true) seen from outside: the ledger
// (/dev/shm/psem.NAME) — where it is, whether it exists, who it says holds
// units — and the robust-holder.js child that the robust tests drive.
const fs = require('node:fs');
const { expect } = require('chai');
const { unlinkAll, run } = require('./helpers');

/** The robust ledger beside the semaphore `name` (robust: true). */
function ledgerPath(name) {
  return `/dev/shm/psem.${name.replace(/^\//, '')}`;
}

/** true when the robust ledger of `name` exists. */
function ledgerExists(name) {
  return fs.existsSync(ledgerPath(name));
}

/**
 * The holders in the robust ledger of `name`, as { pid, units, alive },
 * read without claiming a slot or recovering anything; [] when it has no ledger.
 */
function ledgerHolders(name) {
  const { native } = require('../../dist/binding');
  const result = native.ledgerHolders(name); // or -errno
  if (typeof result === 'number') {
    if (result === -require('node:os').constants.errno.ENOENT) return [];
    throw new Error(`ledgerHolders(${name}): errno ${-result}`);
  }
  return result.map(([pid, units, alive]) => ({ pid, units, alive }));
}

/** The units the ledger of `name` records for `pid` (0 when it has no slot). */
function unitsOf(name, pid) {
  return ledgerHolders(name)
    .filter((h) => h.pid === pid)
    .reduce((sum, h) => sum + h.units, 0);
}

/** Runs robust-holder.js ACTION on `name`. */
const holder = (name, action, options) => run('robust-holder.js', [name, action, ...(options ? [JSON.stringify(options)] : [])]);

/** The value a fresh process sees after opening `name` (robust unless told): recovery at open. */
async function valueSeenByNewProcess(name, options) {
  const child = holder(name, 'open', options);
  const { code, stdout, stderr } = await child.done;
  expect(code, stderr).to.equal(0);
  return Number(/^value (\d+)$/m.exec(stdout)[1]);
}

/** Resolves with the ms from now until `child` prints a line matching `re`; rejects after `ms`. */
async function msUntilLine(child, re, ms) {
  const start = performance.now();
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([child.line(re), late]);
    return performance.now() - start;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILLs `child` and waits until it is gone. */
async function killed(child) {
  child.kill('SIGKILL');
  const { signal } = await child.done;
  expect(signal).to.equal('SIGKILL');
}

/**
 * Call inside a describe(): returns track(child), and after each test kills
 * every child tracked that still runs, waits for it, and unlinks this run's
 * semaphores.
 */
function trackChildren() {
  const children = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await child.done;
    }
    unlinkAll();
  });
  return (child) => {
    children.push(child);
    return child;
  };
}

module.exports = { ledgerPath, ledgerExists, ledgerHolders, unitsOf, holder, valueSeenByNewProcess, msUntilLine, killed, trackChildren };
