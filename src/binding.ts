import { join } from 'node:path';

/** An open semaphore as the native layer sees it (an External). */
export type NativeHandle = { readonly __brand: 'posix-semaphore handle' };
/** The waiting on one semaphore in one thread, shared by its handles (an External): see src/async/shared-wait.ts. */
export type NativeWaiter = { readonly __brand: 'posix-semaphore waiter' };

/**
 * The hot calls, bound to one handle: each returns undefined on success, an
 * errno on failure, -1 once the handle is closed. A wait that a signal of
 * its mask interrupted returns EINTR + 256 × the mask of the signals that
 * ended it (see {@link interruption}).
 */
export interface BoundCalls {
  tryWait(): number | undefined;
  post(): number | undefined;
  /** For after tryWait() found the semaphore taken; only signals in the mask interrupt it (EINTR). */
  wait(signalMask: number): number | undefined;
  timedWait(ms: number, signalMask: number): number | undefined;
}

/**
 * The native layer (native/addon.cc): each call returns 0 or an errno (a
 * handle or a value where it says so); -1 means the handle is closed.
 */
export interface Native {
  /**
   * The handle, its bound calls and the owner (uid, gid) of the semaphore's
   * file (-1 when unknown or created here exclusively); or an errno.
   * undefined only in a worker being terminated.
   */
  open(
    name: string,
    oflag: number,
    mode: number,
    value: number,
    flags: number,
  ):
    | [NativeHandle, BoundCalls['tryWait'], BoundCalls['post'], BoundCalls['wait'], BoundCalls['timedWait'], ownerUid: number, ownerGid: number]
    | number
    | undefined;
  close(handle: NativeHandle): number;
  unlink(name: string): number;
  /** The value, or -errno. */
  getValue(handle: NativeHandle): number;
  /** sem_trywait with sched_yield between tries, for up to `us` µs: 0, an errno, or -1 when closed. */
  trySpin(handle: NativeHandle, us: number): number;
  /** Robust handles: posts back the units of holders that died; returns how many (0 when not robust). */
  recover(handle: NativeHandle): number;
  /** Robust handles: the ledger's holders [pid, units, alive], this process left out when it holds none; undefined when not robust. */
  holders(handle: NativeHandle): Array<[pid: number, units: number, alive: boolean]> | undefined;
  /** The holders in the robust ledger of `name` ([pid, units, alive]), recovering nothing; or an errno (ENOENT: no ledger). */
  ledgerHolders(name: string): Array<[pid: number, units: number, alive: boolean]> | number;
  /**
   * The semaphore behind `handle`, as a number that every handle of it in
   * this process shares (glibc maps a semaphore once per process); -1 once closed.
   */
  waitKey(handle: NativeHandle): number;
  /** This thread's waiter for the semaphore behind `handle`; EBUSY when this thread has one already, -1 when closed. */
  openWaiter(handle: NativeHandle): NativeWaiter | number;
  /**
   * Starts the waiter's wait through `handle` (whose acquire is first in
   * line): on a pool thread in slices of `ms` while the pool can spare one,
   * else on a thread of its own. 0, EBUSY when a wait of this waiter is in
   * flight already, -1 when `handle` is closed. `done(err)` runs once: 0 (a
   * unit was taken: return the handle of the acquire it went to; anything
   * else posts it back), ETIMEDOUT (a slice ended: start again), ECANCELED
   * (nobody wanted it any more) or an errno.
   */
  startWait(waiter: NativeWaiter, handle: NativeHandle, ms: number, done: (err: number) => NativeHandle | undefined): number;
  /** Whether the wait in flight should keep a unit it takes (false: it posts it back, or already has). */
  setWanted(waiter: NativeWaiter, wanted: boolean): void;
  /** The waiter is done with: a new one may open for its semaphore. */
  closeWaiter(waiter: NativeWaiter): void;
  /** [pool threads held by waits of this process (every thread), the most they may hold, waits on threads of their own]. */
  waitThreads(): [pool: number, budget: number, dedicated: number];
  /** This thread's open handles, for the debug lines at exit. */
  openHandles(): Array<[name: string, held: number, flags: number]>;
  /** Posts back the units held by the releaseOnExit handles of every thread of the process; returns how many. */
  releaseHeld(): number;
  constants: {
    O_CREAT: number;
    O_EXCL: number;
    SEM_VALUE_MAX: number;
    RELEASE_ON_EXIT: number;
    ROBUST: number;
    /** Set in an errno that open() returns when the robust ledger failed, not sem_open. */
    LEDGER_FAILURE: number;
    /** Timed waits measure on CLOCK_MONOTONIC (sem_clockwait), not the wall clock. */
    MONOTONIC_WAITS: boolean;
    /** The call behind timed waits: sem_clockwait, sem_timedwait, or sem_trywait polled (no timed wait: macOS). */
    TIMED_WAIT: 'sem_clockwait' | 'sem_timedwait' | 'sem_trywait';
  };
}

function load(): Native {
  if (process.platform === 'win32') {
    throw new Error(
      'posix-semaphore: Windows has no POSIX named semaphores (sem_open). ' +
        'Run under WSL, or use a cross-platform lock such as proper-lockfile.',
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
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

/** What a bound wait returned above this was interrupted by signals (EINTR + 256 × mask). */
export const INTERRUPTED = 255;

/** The mask of the signals that interrupted a wait, from what it returned (> INTERRUPTED). */
export function interruption(result: number): number {
  return Math.floor(result / 256);
}
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
 * Milliseconds a wait slice may hold a threadpool thread before it returns
 * to JS. The pool threads that waits may hold are counted natively, per
 * process: see docs/threadpool.md.
 */
export const SLICE_MS = 100;
