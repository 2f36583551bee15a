// The native layer, loaded and typed: native/*.cc over POSIX semaphores, or
// native/win32/*.cc over Win32 ones (the same exports). Its return convention, the same for
// every call (native/addon.cc says it once for the C++ side):
// - a failure is a negative number, -errno;
// - a call on a closed handle fails with -EBADF (no sem_* call made on an
//   open handle fails with EBADF);
// - the cold paths tell more in a small object: a sync wait that signals
//   ended returns {@link Interrupted} (see src/signals.ts); open() returns
//   {@link LedgerFailure} when the robust ledger, not sem_open, failed, and
//   -ECANCELED in a worker being terminated;
// - anything else is success: undefined when there is nothing to tell (the
//   hot calls make no number), else the value, handle or object.
// So a call that returns nothing on success is tested with
// `result !== undefined`, any other with {@link failed}.
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { SemaphoreError } from './errors';

const { EBADF, EINTR } = osConstants.errno;

/** An open semaphore as the native layer sees it (an External). */
export type NativeHandle = { readonly __brand: 'posix-semaphore handle' };
/** The waiting on one semaphore in one thread, shared by its handles (an External): see src/async/shared-wait.ts. */
export type NativeWaiter = { readonly __brand: 'posix-semaphore waiter' };

/** A failure: -errno (see the convention at the top of this file). */
export type Failure = number;
/** What a call that has nothing to tell on success returns: undefined, or a {@link Failure}. */
export type Outcome = undefined | Failure;

/** Whether a call's result is a failure (a negative number: -errno). */
export function failed(result: unknown): result is Failure {
  return typeof result === 'number' && result < 0;
}

/** What a sync wait that signals ended returns: their mask (bit n: signal n); see src/signals.ts. */
export interface Interrupted {
  readonly signals: number;
}

/** What a bound wait returns: undefined (took a unit), -errno, or {@link Interrupted}. */
export type WaitOutcome = Outcome | Interrupted;

/** What open() returns when the robust ledger, not sem_open, failed. */
export interface LedgerFailure {
  readonly ledgerErrno: number;
}

/**
 * The error for a failure of a call on the handle of semaphore `name`:
 * `ERR_SEMAPHORE_CLOSED` for -EBADF, `EINTR` for a wait that signals ended.
 */
export function failureOf(result: Failure | Interrupted, syscall: string, name: string): SemaphoreError {
  const errno = typeof result === 'number' ? -result : EINTR;
  return errno === EBADF ? SemaphoreError.closed(name, syscall) : SemaphoreError.fromErrno(errno, syscall, name);
}

/** A result for a debug line: 'ok', 'closed' (-EBADF), 'interrupted (signals MASK)' or 'errno N'. */
export function describeResult(result: unknown): string {
  if (typeof result === 'object' && result !== null) return `interrupted (signals ${(result as Interrupted).signals})`;
  if (!failed(result)) return 'ok';
  return result === -EBADF ? 'closed' : `errno ${-result}`;
}

/**
 * The hot calls, bound to one handle: each returns undefined on success,
 * -errno on failure, -EBADF once the handle is closed. A wait that a
 * signal of its mask interrupted returns {@link Interrupted} (see
 * src/signals.ts).
 */
export interface BoundCalls {
  readonly tryWait: () => Outcome;
  readonly post: () => Outcome;
  /** For after tryWait() found the semaphore taken; only signals in the mask interrupt it. */
  readonly wait: (signalMask: number) => WaitOutcome;
  readonly timedWait: (ms: number, signalMask: number) => WaitOutcome;
}

/** What open() returns: the handle, its bound calls, and the owner of the semaphore's file (-1: unknown, or created here exclusively). */
export interface NativeOpened extends BoundCalls {
  readonly handle: NativeHandle;
  readonly ownerUid: number;
  readonly ownerGid: number;
}

/** The native layer (native/addon.cc), with the return convention at the top of this file. */
export interface Native {
  /**
   * The handle, its bound calls and the owner of the semaphore's file; or
   * -errno, {@link LedgerFailure} when the robust ledger failed, -ECANCELED
   * in a worker being terminated.
   */
  open(name: string, oflag: number, mode: number, value: number, flags: number): NativeOpened | LedgerFailure | Failure;
  close(handle: NativeHandle): undefined;
  unlink(name: string): Outcome;
  /** The value (>= 0), or -errno (-ENOSYS: no sem_getvalue, macOS). */
  getValue(handle: NativeHandle): number;
  /** sem_trywait with sched_yield between tries, for up to `us` µs: undefined when it took a unit, else -errno. */
  trySpin(handle: NativeHandle, us: number): Outcome;
  /**
   * Posts back the units that dead holders recorded in the semaphore's
   * robust ledger; returns how many, or -errno (-ENOENT: no ledger, -EINVAL:
   * not a ledger, -EBADF: closed). Through the process's ledger when a robust
   * handle of the semaphore opened it, else through the ledger opened for
   * this call only, without a slot.
   */
  recover(handle: NativeHandle): number;
  /** Robust handles: the ledger's holders [pid, units, alive], this process left out when it holds none; -ENOENT when not robust. */
  holders(handle: NativeHandle): Array<[pid: number, units: number, alive: boolean]> | Failure;
  /**
   * The holders in the robust ledger of `name` ([pid, units, alive]) of the
   * semaphore that the name names now, recovering nothing; or -errno
   * (-ENOENT: no ledger, -EINVAL: not a ledger).
   */
  ledgerHolders(name: string): Array<[pid: number, units: number, alive: boolean]> | Failure;
  /**
   * A number for the semaphore behind `handle`, the same for every handle of
   * it in this process (its account's), never reused and never an address;
   * -EBADF once closed.
   */
  waitKey(handle: NativeHandle): number;
  /** This thread's waiter for the semaphore behind `handle`; -EBUSY when this thread has one already. */
  openWaiter(handle: NativeHandle): NativeWaiter | Failure;
  /**
   * Starts the waiter's wait through `handle` (whose acquire is first in
   * line) on one of the addon's wait threads, sleeping at most `ms` at a
   * time (robust handles recover dead holders' units between). undefined,
   * or -EBUSY when a wait of this waiter is in flight already, -EAGAIN when
   * no thread could start and none runs, -ECANCELED in a thread being torn
   * down. `done(result)` runs once: undefined (a unit was taken, and the
   * process's account counted it: return true when an acquire got it;
   * anything else posts it back), -ECANCELED (nobody wanted it any more, or
   * its thread is going) or another -errno.
   */
  startWait(waiter: NativeWaiter, handle: NativeHandle, ms: number, done: (result: Outcome) => boolean): Outcome;
  /**
   * Whether the wait in flight should keep a unit it takes. false ends the
   * wait before it returns: it takes nothing more, and a unit it holds is
   * posted back (its done() then reports -ECANCELED).
   */
  setWanted(waiter: NativeWaiter, wanted: boolean): void;
  /** The waiter is done with: a new one may open for its semaphore. */
  closeWaiter(waiter: NativeWaiter): void;
  /** [waits in flight in this process (every thread), the addon's wait threads running, the most there may be]. */
  waitThreads(): [waits: number, threads: number, cap: number];
  /** How many handles of this environment exist natively (not yet finalised; closed ones too until collected). For the memory tests. */
  liveHandles(): number;
  /** The units this process holds of the handle's semaphore, as its account counts them (0 while nothing asks for a count); -EBADF once closed. */
  held(handle: NativeHandle): number;
  /** Posts back the accounts that some handle asked releaseOnExit of (every thread's); returns how many units. */
  releaseHeld(): number;
  constants: {
    O_CREAT: number;
    O_EXCL: number;
    SEM_VALUE_MAX: number;
    /** sizeof(sem_t): the size of a semaphore's file (/dev/shm/sem.NAME on Linux). */
    SEM_SIZE: number;
    RELEASE_ON_EXIT: number;
    ROBUST: number;
    /** Set in the errno of a failure of open() when the robust ledger failed, not sem_open. */
    /** Timed waits measure on CLOCK_MONOTONIC (sem_clockwait), not the wall clock. */
    MONOTONIC_WAITS: boolean;
    /** The call behind timed waits: sem_clockwait, sem_timedwait, sem_trywait polled (no timed wait: macOS), or WaitForSingleObject (Windows). */
    TIMED_WAIT: 'sem_clockwait' | 'sem_timedwait' | 'sem_trywait' | 'WaitForSingleObject';
  };
}

function load(): Native {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- node-gyp-build is CommonJS and returns the addon
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => Native;
    return nodeGypBuild(join(__dirname, '..'));
  } catch (err) {
    throw new Error(
      `posix-semaphore: could not load its native addon for ${process.platform}-${process.arch} ` +
        `(node ${process.version}): ${(err as Error).message}. No prebuild fits this platform, so it ` +
        'must be compiled: install python3, make and a C++ compiler, then run `npm rebuild posix-semaphore`.',
      { cause: err },
    );
  }
}

export const native: Native = load();

export const { constants } = native;
/**
 * Microseconds acquire() keeps trying (yielding the CPU between tries) after
 * its first sem_trywait failed, before it waits on the threadpool: a holder
 * about to post usually does so within a few µs, and a threadpool round trip
 * costs ~10 µs and four thread switches. Bounded, so the event loop never
 * stalls for it.
 */
export const SPIN_US = 20;
/**
 * Milliseconds a wait sleeps at most before it looks again (robust handles
 * recover dead holders' units then). It never holds a threadpool thread:
 * see docs/threadpool.md.
 */
export const SLICE_MS = 250;
