'use strict';
// The robust ledger (/dev/shm/psem.NAME, robust: true), seen from outside:
// where it is, whether it exists, and who it says holds units.
const fs = require('node:fs');

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
  const result = native.ledgerHolders(name);
  if (typeof result === 'number') {
    if (result === require('node:os').constants.errno.ENOENT) return [];
    throw new Error(`ledgerHolders(${name}): errno ${result}`);
  }
  return result.map(([pid, units, alive]) => ({ pid, units, alive }));
}

module.exports = { ledgerPath, ledgerExists, ledgerHolders };
