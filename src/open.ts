// Opening a semaphore by name, and removing a name: sem_open with the
// create-exclusively-then-open retry (so that `created` tells the truth),
// the owner check of a semaphore that someone else created, the robust
// ledger's errors; sem_unlink.
import { BoundCalls, constants, failed, native, NativeHandle } from './binding';
import { debugLog } from './debug';
import { errnoName, errnoOf, invalidArgValue, SemaphoreError } from './errors';
import { DEBUG_FLAG } from './exit';
import { untrustedOwner } from './owner';
import { ledgerFile } from './system/shm';
import type { ResolvedOptions } from './validate';

const ECANCELED = errnoOf('ECANCELED');
const EEXIST = errnoOf('EEXIST');
const ENOENT = errnoOf('ENOENT');

/** Longest name (bytes, without the '/') of a robust semaphore: /dev/shm/psem.NAME must fit NAME_MAX. */
const ROBUST_NAME_MAX = 250;

/** An open handle and the calls the native layer bound to it. */
export interface Opened {
  handle: NativeHandle;
  tryWait: BoundCalls['tryWait'];
  post: BoundCalls['post'];
  wait: BoundCalls['wait'];
  timedWait: BoundCalls['timedWait'];
  /** This call created the semaphore. */
  created: boolean;
}

/**
 * Opens the semaphore `name` (normalised; `given` is the name as the caller
 * wrote it, for errors) as `opts` say.
 * @throws SemaphoreError from sem_open, the robust ledger or the owner check.
 */
export function openSemaphore(name: string, given: unknown, opts: ResolvedOptions, debug: boolean): Opened {
  if (opts.robust && Buffer.byteLength(name) > ROBUST_NAME_MAX + 1) {
    throw invalidArgValue('name', given, `must be at most ${ROBUST_NAME_MAX} bytes long with robust: true (its ledger's name is longer)`);
  }
  const flags = (opts.releaseOnExit ? constants.RELEASE_ON_EXIT : 0) | (opts.robust ? constants.ROBUST : 0) | (debug ? DEBUG_FLAG : 0);

  const { O_CREAT, O_EXCL } = constants;
  let result: ReturnType<typeof native.open>;
  let created = false;
  if (!opts.create) {
    result = native.open(name, 0, 0, 0, flags);
  } else if (opts.exclusive) {
    result = native.open(name, O_CREAT | O_EXCL, opts.mode, opts.value, flags);
    created = true;
  } else {
    // Create exclusively first, so that `created` tells the truth; if it
    // exists, open it; if it vanished in between, try again.
    for (let attempt = 0; ; attempt++) {
      result = native.open(name, O_CREAT | O_EXCL, opts.mode, opts.value, flags);
      created = !failed(result);
      if (result !== -EEXIST) break;
      result = native.open(name, 0, 0, 0, flags);
      if (result !== -ENOENT || attempt === 16) break;
    }
  }
  if (failed(result)) {
    if (result === -ECANCELED) throw SemaphoreError.closed(name, 'sem_open'); // a worker being terminated
    if (debug) debugLog(name, `sem_open failed: errno ${-result}`);
    throw SemaphoreError.fromErrno(-result, 'sem_open', name);
  }
  if ('ledgerErrno' in result) {
    if (debug) debugLog(name, `robust ledger failed: errno ${result.ledgerErrno}`);
    throw ledgerError(result.ledgerErrno, name);
  }
  const { handle, tryWait, post, wait, timedWait, ownerUid, ownerGid } = result;
  const untrusted = created ? undefined : untrustedOwner(name, ownerUid, ownerGid, opts.trust);
  if (untrusted !== undefined) {
    native.close(handle);
    if (debug) debugLog(name, `sem_open: refused, owned by uid ${ownerUid}`);
    throw untrusted;
  }
  return { handle, tryWait, post, wait, timedWait, created };
}

function ledgerError(errno: number, name: string): SemaphoreError {
  // On Windows the ledger is a named file mapping beside the semaphore (native/win32/ledger.cc).
  const file = process.platform === 'win32' ? `psem.${name.slice(1)} (a named file mapping)` : ledgerFile(name);
  const why: Record<string, string> = {
    EINVAL: `its ledger ${file} is corrupt or of another version; remove it when nothing holds the semaphore`,
    EPERM: `its ledger ${file} belongs to another user than the semaphore, who could make this process post units nobody took`,
    ENOSPC: `its ledger ${file} has no free slot: too many live processes use it robustly`,
    ENOSYS: 'this system has no OFD locks (Linux >= 3.15), which robust handles need',
  };
  const code = errnoName(errno);
  const message = `cannot open semaphore '${name}' with robust: true: ${why[code] ?? `its ledger ${file} could not be opened`}`;
  return new SemaphoreError(code, { errno, syscall: 'open', semaphore: name, message });
}

/**
 * Removes the name `name` (normalised) and its robust ledger, if any (`sem_unlink`).
 * @throws SemaphoreError `ENOENT` when there is no such semaphore.
 */
export function unlinkName(name: string, debug: boolean): void {
  const result = native.unlink(name);
  if (debug) debugLog(name, `sem_unlink -> ${result === undefined ? 'ok' : `errno ${-result}`}`);
  if (result !== undefined) throw SemaphoreError.fromErrno(-result, 'sem_unlink', name);
}
