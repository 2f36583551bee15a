import { join } from 'node:path';

/** An open semaphore as the native layer sees it (an External). */
export type NativeHandle = { readonly __brand: 'posix-semaphore handle' };

/**
 * The native layer: each call returns 0 or an errno (a handle or a value
 * where it says so); -1 means the handle is closed. See native/addon.cc.
 */
/**
 * The hot calls, bound to one handle: each returns undefined on success, an
 * errno on failure, -1 once the handle is closed.
 */
export interface BoundCalls {
  tryWait(): number | undefined;
  post(): number | undefined;
  /** For after tryWait() found the semaphore taken; only signals in the mask interrupt it (EINTR). */
  wait(signalMask: number): number | undefined;
  timedWait(ms: number, signalMask: number): number | undefined;
}

export interface Native {
  /** The handle and its bound calls, or an errno. */
  open(
    name: string,
    oflag: number,
    mode: number,
    value: number,
    flags: number,
  ): [NativeHandle, BoundCalls['tryWait'], BoundCalls['post'], BoundCalls['wait'], BoundCalls['timedWait']] | number;
  close(handle: NativeHandle): number;
  unlink(name: string): number;
  /** The value, or -errno. */
  getValue(handle: NativeHandle): number;
  waitSlice(handle: NativeHandle, ms: number, callback: (err: number) => void): number;
  /** sem_trywait with sched_yield between tries, for up to `us` µs: 0, an errno, or -1 when closed. */
  trySpin(handle: NativeHandle, us: number): number;
  /** Whether the slice in flight should keep a unit it takes (false: post it back on the pool thread). */
  setWanted(handle: NativeHandle, wanted: boolean): void;
  /** The signal number that ended the last sync wait with EINTR. */
  interruptedBy(): number;
  /** This thread's open handles, for the debug lines at exit. */
  openHandles(): Array<[name: string, held: number, flags: number]>;
  /** Posts back the units held by this thread's releaseOnExit handles; returns how many. */
  releaseHeld(): number;
  constants: {
    O_CREAT: number;
    O_EXCL: number;
    SEM_VALUE_MAX: number;
    CLOSE_ON_EXIT: number;
    RELEASE_ON_EXIT: number;
    HAVE_TIMEDWAIT: boolean;
    /** Timed waits measure on CLOCK_MONOTONIC (sem_clockwait), not the wall clock. */
    MONOTONIC_WAITS: boolean;
    HAVE_GETVALUE: boolean;
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
export const { constants } = native;
/**
 * Microseconds acquire() keeps trying (yielding the CPU between tries) after
 * its first sem_trywait failed, before it waits on the threadpool: a holder
 * about to post usually does so within a few µs, and a threadpool round trip
 * costs ~10 µs and four thread switches. Bounded, so the event loop never
 * stalls for it.
 */
export const SPIN_US = 20;
/** Milliseconds a wait slice may hold a threadpool thread before it returns to JS. */
export const SLICE_MS = 100;
/** The slice when wait slices would otherwise leave no thread free for fs, dns or crypto. */
export const SHORT_SLICE_MS = 10;
/** Threads in the libuv pool (libuv reads the same variable, default 4). */
export const THREADPOOL_SIZE = Math.min(Math.max(Number(process.env.UV_THREADPOOL_SIZE) || 4, 1), 1024);
