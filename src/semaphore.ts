// The public class: what each call means, its checks and its debug lines.
// How it is done lives beside it: opening (open.ts), signals during sync
// waits (signals.ts), waiting acquires (async/), exit (exit.ts), the
// native layer and its return convention (binding.ts).
// Over 300 lines only by its documentation: every public member and option
// has its TSDoc here, where editors show it; the code is about 230 lines.
import { inspect } from 'node:util';
import { cancelAcquires, queueAcquire, WaitingHandle, waiting, waitingOn, waitingThrough } from './async/shared-wait';
import { abortError } from './async/wait-queue';
import {
  BoundCalls,
  constants,
  describeResult,
  Failure,
  failed,
  failureOf,
  Interrupted,
  native,
  NativeHandle,
  SPIN_US,
  WaitOutcome,
} from './binding';
import { debugFromEnv, debugLog } from './debug';
import { errnoOf, invalidArgType, SemaphoreError } from './errors';
import { listenForExit } from './exit';
import type { SharedSemaphore } from './lock';
import { openSemaphore, unlinkName } from './open';
import { interruptingSignals, waitAgain } from './signals';
import { acquireChannel, traceAcquire, traceWait, waitChannel } from './tracing';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- named by the TSDoc {@link}s only
import type { AcquireTraceContext, WaitTraceContext } from './tracing';
import { normalizeName, resolveOptions, validateAcquireOptions, validateBoolean, validateObject, validateTimeout } from './validate';

const EAGAIN = -errnoOf('EAGAIN'); // as the native layer returns it
const ETIMEDOUT = errnoOf('ETIMEDOUT');
/** The syscall behind timed waits, for error messages: sem_clockwait where glibc has it. */
const TIMED_WAIT = constants.TIMED_WAIT;

const disposeSymbol: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');
const resolved: Promise<void> = Promise.resolve();

/** Options of `new Semaphore(name, options)`. */
export interface SemaphoreOptions {
  /** Create the semaphore if it does not exist (O_CREAT). With false, open an existing one or fail ENOENT. Default true. */
  create?: boolean;
  /** With create, fail EEXIST if it already exists (O_CREAT|O_EXCL). Default false. */
  exclusive?: boolean;
  /** Initial count, an integer 0..SEM_VALUE_MAX, used only when this call creates it. Default 1. */
  value?: number;
  /** Permission bits when created (the umask applies), a number or an octal string like '0600'. Default 0o600. */
  mode?: number | string;
  /** Sync wait()/timedWait() go on waiting when a signal interrupts them, instead of throwing EINTR. Default false. */
  retryOnEintr?: boolean;
  /** One line per operation on stderr, prefixed "[posix-semaphore]". Also NODE_DEBUG=posix-semaphore. Default false. */
  debug?: boolean;
  /**
   * Accepted for compatibility with 0.0.x. The kernel closes every semaphore
   * of a process that ends, so this changes nothing at exit. Default true.
   */
  closeOnExit?: boolean;
  /**
   * On exit, SIGINT or SIGTERM, post back the units this process still holds
   * of the semaphore. Units belong to the process, not the handle: every
   * handle's takes and posts count, in every thread; close(), garbage
   * collection and a worker thread's end post nothing (see
   * docs/exit-and-signals.md). Default false.
   */
  releaseOnExit?: boolean;
  /**
   * Users (uids or names) besides this process's effective user and root
   * whose existing semaphores may be opened. /dev/shm is shared by every
   * user: a semaphore created first by another user, with mode 0666, could
   * be posted by that user at will. Without a match, opening it throws
   * `ERR_SEMAPHORE_UNTRUSTED`. Linux only (elsewhere the owner is unknown).
   * @example new Semaphore('jobs', { trustedUsers: ['deploy', 1001] })
   */
  trustedUsers?: Array<number | string>;
  /** Groups (gids or names) whose members' semaphores may be opened; see `trustedUsers`. */
  trustedGroups?: Array<number | string>;
  /**
   * The units this process holds of the semaphore (through any handle, from
   * the first robust open on) are recorded in a ledger beside it
   * (`/dev/shm/psem.NAME`), and come back when the process dies holding
   * them, however it dies (SIGKILL, the OOM killer): recovered when a robust
   * handle opens, while robust waiters wait, and when a try finds the
   * semaphore empty. Linux only; names up to 250 bytes. Default false.
   * @example const gpu = new Semaphore('gpu', { value: 2, robust: true });
   */
  robust?: boolean;
}

/** Options of `Semaphore.unlink(name, options)`. */
export interface UnlinkOptions {
  /** A missing name is not an error (`ENOENT` is ignored), as `fs.rm`'s `force`. Default: false. */
  force?: boolean;
}

/** Options of `acquire()` and `withLock()`. */
export interface AcquireOptions {
  /** Milliseconds to wait before rejecting with ETIMEDOUT; 0 means do not wait. Default: wait forever. */
  timeout?: number;
  /** Rejects the acquire with an AbortError when aborted. */
  signal?: AbortSignal;
}

/**
 * A named POSIX semaphore: the kernel object that `sem_open(3)` opens in C,
 * Python or any other language under the same name (on Linux,
 * `/dev/shm/sem.NAME`).
 *
 * The synchronous calls (`wait`, `tryWait`, `timedWait`, `post`) block the
 * calling thread exactly like their C namesakes. The Promise calls
 * (`acquire`, `tryAcquire`, `release`, `withLock`) never block the event
 * loop: the acquires of one semaphore that wait, across this thread's
 * handles of it, queue in FIFO order behind one native wait, which runs on
 * the libuv threadpool while the pool can spare a thread (slices of 100 ms)
 * and on a thread of its own otherwise (see docs/threadpool.md).
 *
 * Each call is traced on `diagnostics_channel` when something subscribes:
 * `posix-semaphore:acquire` (acquire, withLock; see {@link AcquireTraceContext})
 * and `posix-semaphore:wait` (wait, tryWait, timedWait, tryAcquire; see
 * {@link WaitTraceContext}).
 *
 * @example
 * const sem = new Semaphore('jobs', { value: 2 });
 * await sem.withLock(async () => { ...use the resource... });
 * sem.close();
 */
export class Semaphore implements SharedSemaphore, Disposable {
  /** The normalised name, with its leading '/'. */
  readonly name: string;
  /** true when this call created the semaphore; false when it opened an existing one. */
  readonly created: boolean;

  private readonly handle: NativeHandle;
  // The hot calls, bound to the handle by the native layer: undefined on success, else -errno.
  private readonly nativeTryWait: BoundCalls['tryWait'];
  private readonly nativePost: BoundCalls['post'];
  private readonly nativeWait: BoundCalls['wait'];
  private readonly nativeTimedWait: BoundCalls['timedWait'];
  private isClosed = false;
  private readonly retryOnEintr: boolean;
  private readonly debug: boolean;
  // The async path (src/async/shared-wait.ts): this handle's semaphore, as
  // the key its waiting acquires queue under (0: not asked yet), and what
  // that queue needs of this handle.
  private waitKey = 0;
  private waitingHandle: WaitingHandle | undefined;

  /**
   * Opens (and by default creates) the semaphore `name`.
   *
   * @param name 1 to 251 bytes, with or without a leading '/', no other '/'.
   * @throws TypeError/RangeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`) for bad arguments, before any syscall.
   * @throws SemaphoreError from `sem_open`: `ENOENT` (create: false), `EEXIST` (exclusive), `EACCES`, `EMFILE`, ...
   */
  constructor(name: string, options?: SemaphoreOptions) {
    this.name = normalizeName(name);
    const opts = resolveOptions(options, constants.SEM_VALUE_MAX);
    this.retryOnEintr = opts.retryOnEintr;
    this.debug = opts.debug || debugFromEnv;
    const opened = openSemaphore(this.name, name, opts, this.debug);
    this.handle = opened.handle;
    this.nativeTryWait = opened.tryWait;
    this.nativePost = opened.post;
    this.nativeWait = opened.wait;
    this.nativeTimedWait = opened.timedWait;
    this.created = opened.created;
    if (opts.releaseOnExit) listenForExit();
    if (this.debug) debugLog(this.name, this.created ? `created with value ${opts.value}` : 'opened');
  }

  /** true once close() has run (or the handle was closed at exit). */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * The current count (`sem_getvalue`). 0 means taken; POSIX semaphores on
   * Linux never report waiters as a negative value.
   * @throws SemaphoreError `ENOSYS` on macOS, `ERR_SEMAPHORE_CLOSED` after close().
   */
  get value(): number {
    if (this.isClosed) throw SemaphoreError.closed(this.name, 'sem_getvalue');
    const value = native.getValue(this.handle);
    if (failed(value)) throw SemaphoreError.fromErrno(-value, 'sem_getvalue', this.name);
    return value;
  }

  /** How many acquire() calls of this handle are queued, waiting for a unit. */
  get pending(): number {
    return this.waitingHandle === undefined ? 0 : waitingThrough(this.waitKey, this.waitingHandle);
  }

  /**
   * Takes one unit, blocking the thread until one is free (`sem_wait`).
   * Blocks the event loop too: in a server, prefer `await acquire()`.
   * @throws SemaphoreError `EINTR` when a signal interrupts the wait (unless retryOnEintr).
   */
  wait(): void {
    if (waitChannel.hasSubscribers) return traceWait(this, 'wait', undefined, () => this.untracedWait()); // tracing (issue 13)
    this.untracedWait();
  }

  private untracedWait(): void {
    let err: WaitOutcome = this.nativeTryWait();
    if (err === EAGAIN) {
      do err = this.nativeWait(interruptingSignals());
      while (waitAgain(err, this.retryOnEintr));
    }
    if (this.debug) this.log('sem_wait', err);
    if (err !== undefined) throw this.failure(err, 'sem_wait');
  }

  /**
   * Takes one unit if one is free, without blocking (`sem_trywait`).
   * @throws SemaphoreError `EAGAIN` when the semaphore is taken.
   */
  tryWait(): void {
    if (waitChannel.hasSubscribers) return traceWait(this, 'tryWait', 0, () => this.untracedTryWait()); // tracing (issue 13)
    this.untracedTryWait();
  }

  private untracedTryWait(): void {
    const err = this.nativeTryWait();
    if (this.debug) this.log('sem_trywait', err);
    if (err !== undefined) throw this.failure(err, 'sem_trywait');
  }

  /**
   * Takes one unit, blocking the thread for at most `ms` milliseconds
   * (`sem_clockwait` on CLOCK_MONOTONIC, so wall-clock jumps do not matter).
   * @throws SemaphoreError `ETIMEDOUT` when the time runs out, `EINTR` on a signal (unless retryOnEintr).
   */
  timedWait(ms: number): void {
    if (waitChannel.hasSubscribers) return traceWait(this, 'timedWait', ms, () => this.untracedTimedWait(ms)); // tracing (issue 13)
    this.untracedTimedWait(ms);
  }

  private untracedTimedWait(ms: number): void {
    validateTimeout(ms, 'ms');
    const deadline = performance.now() + ms;
    let err: WaitOutcome;
    do err = this.nativeTimedWait(Math.max(0, deadline - performance.now()), interruptingSignals());
    while (waitAgain(err, this.retryOnEintr));
    if (this.debug) this.log(`${TIMED_WAIT}(${ms})`, err);
    if (err !== undefined) throw this.failure(err, TIMED_WAIT);
  }

  /**
   * Gives back one unit (`sem_post`), waking one waiter in any process.
   * @throws SemaphoreError `EOVERFLOW` at SEM_VALUE_MAX.
   */
  post(): void {
    const err = this.nativePost();
    if (this.debug) this.log('sem_post', err);
    if (err !== undefined) throw this.failure(err, 'sem_post');
  }

  /**
   * Takes one unit without blocking the event loop. Resolves at once when a
   * unit is free and no earlier acquire() of this semaphore (through any
   * handle of this thread) is waiting; otherwise waits in FIFO order behind
   * them, off the event loop.
   *
   * Rejects with SemaphoreError `ETIMEDOUT` after `timeout` ms, an
   * AbortError when `signal` aborts, `ERR_SEMAPHORE_CLOSED` when the handle
   * is closed. A rejected acquire() never holds a unit.
   *
   * @example
   * await sem.acquire({ timeout: 5000 });
   * try { await useTheGpu(); } finally { sem.release(); }
   */
  acquire(options?: AcquireOptions): Promise<void> {
    if (acquireChannel.hasSubscribers) return traceAcquire(this, options, (o) => this.untracedAcquire(o)); // tracing (issue 13)
    return this.untracedAcquire(options);
  }

  private untracedAcquire(options?: AcquireOptions): Promise<void> {
    let timeout: number | undefined;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      try {
        ({ timeout, signal } = validateAcquireOptions(options));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.isClosed) return Promise.reject(SemaphoreError.closed(this.name, 'sem_trywait'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (waitingOn.count === 0 || waiting(this.key()) === 0) {
      const err = this.nativeTryWait();
      if (this.debug) this.log('acquire: sem_trywait', err);
      if (err === undefined) return resolved;
      if (err !== EAGAIN) return Promise.reject(this.failure(err, 'sem_trywait'));
      if (timeout === 0) return Promise.reject(SemaphoreError.fromErrno(ETIMEDOUT, 'sem_trywait', this.name));
      // Taken: let a holder about to post run first, briefly (SPIN_US), before a threadpool round trip.
      const spun = native.trySpin(this.handle, timeout === undefined ? SPIN_US : Math.min(SPIN_US, timeout * 1000));
      if (this.debug) this.log(`acquire: sem_trywait, yielding for up to ${SPIN_US} µs`, spun);
      if (spun === undefined) return resolved;
      if (spun !== EAGAIN) return Promise.reject(this.failure(spun, 'sem_trywait'));
    } else if (timeout === 0) {
      return Promise.reject(SemaphoreError.fromErrno(ETIMEDOUT, 'sem_trywait', this.name));
    }
    return queueAcquire(this.key(), this.waiting(), timeout, signal, () => SemaphoreError.fromErrno(ETIMEDOUT, TIMED_WAIT, this.name));
  }

  /**
   * Takes one unit if one is free and no acquire() of this semaphore (through
   * any handle of this thread) is waiting; never waits. Returns whether it took one.
   */
  tryAcquire(): boolean {
    if (waitChannel.hasSubscribers) return traceWait(this, 'tryAcquire', 0, () => this.untracedTryAcquire()); // tracing (issue 13)
    return this.untracedTryAcquire();
  }

  private untracedTryAcquire(): boolean {
    if (this.isClosed) throw SemaphoreError.closed(this.name, 'sem_trywait');
    if (waitingOn.count > 0 && waiting(this.key()) > 0) return false;
    const err = this.nativeTryWait();
    if (this.debug) this.log('tryAcquire: sem_trywait', err);
    if (err === undefined) return true;
    if (err === EAGAIN) return false;
    throw this.failure(err, 'sem_trywait');
  }

  /** Gives back one unit (`sem_post`); the Promise API's name for post(). */
  release(): void {
    this.post();
  }

  /**
   * Runs `fn` holding one unit: acquire(), then `fn`, then release() in a
   * finally. Returns what `fn` returns.
   *
   * @example
   * const rows = await sem.withLock(() => db.exportAll(), { timeout: 10_000 });
   */
  async withLock<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    await this.acquire(options);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * Closes this handle (`sem_close`). The semaphore itself lives on for
   * other handles and processes; only unlink() removes it. Pending
   * acquire() calls reject with `ERR_SEMAPHORE_CLOSED`. Closing twice is a no-op.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    native.close(this.handle);
    if (this.debug) debugLog(this.name, 'sem_close');
    if (this.waitingHandle !== undefined) {
      cancelAcquires(this.waitKey, this.waitingHandle, () => SemaphoreError.closed(this.name, TIMED_WAIT));
    }
  }

  /**
   * Removes the name (`sem_unlink`): later opens create a new semaphore;
   * processes that have it open keep using the old one until they close it.
   * Works on a closed handle too.
   * @throws SemaphoreError `ENOENT` when the name is already gone.
   */
  unlink(): void {
    unlinkName(this.name, this.debug);
  }

  /**
   * Removes a semaphore by name without opening it (`sem_unlink`).
   * With `{ force: true }` a missing name is fine (as `fs.rm`'s `force`).
   * @throws SemaphoreError `ENOENT` when there is no such semaphore (unless `force`).
   */
  static unlink(name: string, options?: UnlinkOptions): void {
    const force = validateBoolean(validateObject(options, 'options')?.force, 'options.force') ?? false;
    try {
      unlinkName(normalizeName(name), debugFromEnv);
    } catch (err) {
      if (!(force && err instanceof SemaphoreError && err.code === 'ENOENT')) throw err;
    }
  }

  /** Closes the handle: `using sem = new Semaphore('jobs')`. */
  [disposeSymbol](): void {
    this.close();
  }

  /**
   * `{ name, value, pending, closed }`, what `JSON.stringify(sem)` shows;
   * `value` is null once closed (or where sem_getvalue is missing: macOS).
   */
  toJSON(): { name: string; value: number | null; pending: number; closed: boolean } {
    let value: number | null = null;
    if (!this.isClosed) {
      const read = native.getValue(this.handle);
      if (!failed(read)) value = read;
    }
    return { name: this.name, value, pending: this.pending, closed: this.isClosed };
  }

  /** `util.inspect(sem)`: `Semaphore { name: '/jobs', value: 1, pending: 0, closed: false }`, never the internals. */
  [inspect.custom](depth: number, options: { stylize(text: string, style: string): string; depth?: number | null }, nested: typeof inspect): string {
    const label = this.constructor.name || 'Semaphore';
    if (depth < 0) return options.stylize(`[${label}]`, 'special');
    return `${label} ${nested(this.toJSON(), { ...options, depth: options.depth == null ? options.depth : options.depth - 1 })}`;
  }

  // This handle's semaphore, as its waiting acquires queue under it.
  private key(): number {
    return this.waitKey || (this.waitKey = native.waitKey(this.handle));
  }

  // What the shared wait of this handle's semaphore needs of it.
  private waiting(): WaitingHandle {
    return (this.waitingHandle ??= {
      handle: this.handle,
      tryTake: this.nativeTryWait,
      failure: (err, syscall) => this.failure(err, syscall),
      log: this.debug ? (operation, err) => this.log(operation, err) : undefined,
    });
  }

  private failure(result: Failure | Interrupted, syscall: string): SemaphoreError {
    return failureOf(result, syscall, this.name);
  }

  private log(operation: string, result: WaitOutcome): void {
    debugLog(this.name, `${operation} -> ${describeResult(result)}`);
  }
}

/**
 * The native handle behind `sem`, for the package's own tools (the CLI's
 * recover, held-unit checks); not part of the public API.
 * @internal
 */
export function nativeHandleOf(sem: Semaphore): NativeHandle {
  return sem['handle'];
}
