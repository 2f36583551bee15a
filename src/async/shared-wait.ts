// The waiting protocol, JS half. Every acquire() that has to wait for a
// semaphore, whichever of this thread's handles it was called on, joins one
// FIFO queue per semaphore here, and that queue has at most one native wait
// in flight. The native half (native/async/async_calls.cc, waiter.h) refuses a
// second one and runs it on a thread of the addon's, never the libuv pool
// (native/async/wait_thread.h).
//
// The rules, in one place:
// - a free unit goes to the oldest waiting acquire(), never to a newcomer
//   (acquire() takes the fast path only while nobody of this thread waits);
// - the native wait runs through the handle of the oldest acquire, and
//   ends with done(undefined) (took a unit, counted by the process's account
//   where it was taken: done() says whether an acquire got it, and if none
//   did the native side posts it back), -ECANCELED
//   (unwanted: it holds nothing; start again if someone waits) or another
//   -errno (binding.ts: the return convention); -ETIMEDOUT and -EINTR are
//   read as -ECANCELED;
// - when the last acquire settles (timeout, abort, close), setWanted(false)
//   ends the wait in flight before the rejection is delivered: it takes
//   nothing posted after that.
import { constants, Failure, failed, native, NativeHandle, NativeWaiter, Outcome, SLICE_MS } from '../binding';
import { errnoOf } from '../errors';
import { WaitQueue } from './wait-queue';

// As the native layer returns them: -errno.
const EAGAIN = -errnoOf('EAGAIN');
const ETIMEDOUT = -errnoOf('ETIMEDOUT');
const ECANCELED = -errnoOf('ECANCELED');
const EINTR = -errnoOf('EINTR');

/** What the shared wait needs of a handle whose acquire() waits in it. */
export interface WaitingHandle {
  readonly handle: NativeHandle;
  /** sem_trywait through the handle: undefined when it took a unit, else -errno (-EBADF: closed). */
  tryTake(): Outcome;
  /** The error that rejects an acquire of this handle, for a failure (-errno). */
  failure(result: Failure, syscall: string): Error;
  /** A debug line, when the handle logs. */
  log: ((operation: string, result: Outcome) => void) | undefined;
}

// This thread's shared waits, by semaphore (native.waitKey()).
const waits = new Map<number, SharedWait>();

/**
 * How many semaphores this thread's acquires wait for: a plain field, so
 * that acquire()'s fast path pays one property load when nothing waits.
 */
export const waitingOn = { count: 0 };

/** How many acquire() calls of this thread wait for the semaphore `key`. */
export function waiting(key: number): number {
  const wait = waits.get(key);
  return wait === undefined ? 0 : wait.pending;
}

/** How many acquire() calls of `owner` (one handle) wait for the semaphore `key`. */
export function waitingThrough(key: number, owner: WaitingHandle): number {
  const wait = waits.get(key);
  return wait === undefined ? 0 : wait.pendingOf(owner);
}

/**
 * Queues an acquire() of `owner` behind every waiting acquire() of the same
 * semaphore in this thread; see WaitQueue.wait() for how it settles.
 */
export function queueAcquire(
  key: number,
  owner: WaitingHandle,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  timeoutError: () => Error,
): Promise<void> {
  let wait = waits.get(key);
  if (wait === undefined) {
    wait = new SharedWait(key, owner.handle);
    waits.set(key, wait);
    waitingOn.count = waits.size;
  }
  return wait.queue(owner, timeout, signal, timeoutError);
}

/** Rejects the waiting acquire() calls of `owner` (its handle is closing); the others keep their place. */
export function cancelAcquires(key: number, owner: WaitingHandle, error: () => Error): void {
  waits.get(key)?.cancel(owner, error);
}

/** [waits in flight in this process, the addon's wait threads running, the most there may be]. */
export function waitThreads(): [waits: number, threads: number, cap: number] {
  return native.waitThreads();
}

class SharedWait {
  private readonly waiters = new WaitQueue<void, WaitingHandle>(() => this.idle());
  private readonly waiter: NativeWaiter;
  // The handle the native wait in flight runs through; undefined: none in flight.
  private through: WaitingHandle | undefined;
  private retired = false;
  private readonly onDone = (result: Outcome): boolean => this.done(result);

  constructor(
    private readonly key: number,
    handle: NativeHandle,
  ) {
    const waiter = native.openWaiter(handle);
    if (failed(waiter)) throw new Error(`posix-semaphore: internal error: openWaiter() -> ${waiter}`);
    this.waiter = waiter;
  }

  get pending(): number {
    return this.waiters.pending;
  }

  pendingOf(owner: WaitingHandle): number {
    return this.waiters.pendingOf(owner);
  }

  queue(owner: WaitingHandle, timeout: number | undefined, signal: AbortSignal | undefined, timeoutError: () => Error): Promise<void> {
    const wanted = this.waiters.pending > 0;
    const acquired = this.waiters.wait(timeout, signal, timeoutError, owner);
    if (!wanted && this.through !== undefined) native.setWanted(this.waiter, true);
    this.pump();
    return acquired;
  }

  cancel(owner: WaitingHandle, error: () => Error): void {
    this.waiters.failOwnedBy(owner, error);
  }

  // Serves the oldest acquires from units already free (posted by this
  // process, say), then starts the native wait for the first that remains.
  private pump(): void {
    if (this.through !== undefined || this.retired) return;
    for (let owner = this.waiters.oldestOwner(); owner !== undefined; owner = this.waiters.oldestOwner()) {
      let err = owner.tryTake();
      if (err === undefined) {
        this.waiters.grant(undefined);
        continue;
      }
      if (err === EAGAIN) {
        err = native.startWait(this.waiter, owner.handle, SLICE_MS, this.onDone);
        if (err === undefined) {
          this.through = owner;
          return;
        }
      }
      this.waiters.failOldest(owner.failure(err, constants.TIMED_WAIT));
    }
    this.retire();
  }

  // The native wait is over. Returns whether an acquire got the unit it
  // took; if none did, the native side posts the unit back.
  private done(err: Outcome): boolean {
    const through = this.through!;
    this.through = undefined;
    let granted = false;
    try {
      through.log?.('acquire: wait', err);
      if (err === undefined) {
        granted = this.waiters.oldestOwner() !== undefined;
        if (granted) this.waiters.grant(undefined);
      } else if (err !== ETIMEDOUT && err !== ECANCELED && err !== EINTR) {
        this.waiters.failOldest((this.waiters.oldestOwner() ?? through).failure(err, constants.TIMED_WAIT));
      }
      this.pump();
    } catch (error) {
      // Never throw back into the native layer: a rethrow here would leave
      // the acquire just resolved without its unit.
      process.nextTick(() => {
        throw error;
      });
    }
    return granted;
  }

  // The last waiting acquire settled.
  private idle(): void {
    if (this.through !== undefined) native.setWanted(this.waiter, false);
    else this.retire();
  }

  private retire(): void {
    if (this.retired || this.through !== undefined || this.waiters.pending > 0) return;
    this.retired = true;
    if (waits.get(this.key) === this) waits.delete(this.key);
    waitingOn.count = waits.size;
    native.closeWaiter(this.waiter);
  }
}
