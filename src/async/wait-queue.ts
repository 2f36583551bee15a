// The acquire() calls that wait their turn: FIFO, each with its own timeout
// and abort signal, and the owner (the handle) it was called on. Shared by the
// POSIX class (one queue per semaphore and thread, across its handles: see
// shared-wait.ts) and the Redis class (one queue per handle), which differ
// only in how a unit is taken.
import { AbortError } from '../errors';

interface Waiter<T, O> {
  owner: O;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The AbortError of an aborted acquire, like Node's own: `cause` is the signal's reason. */
export function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

export class WaitQueue<T, O = undefined> {
  // waiters[head..] wait, in order; some may have settled (timeout, abort)
  // and stay until they reach the head or are swept.
  private waiters: Waiter<T, O>[] = [];
  private head = 0;
  private live = 0;

  /** @param onIdle runs whenever the last waiting waiter settles, however it settles. */
  constructor(private readonly onIdle: () => void = () => undefined) {}

  /** How many waiters have not settled yet. */
  get pending(): number {
    return this.live;
  }

  /**
   * Queues a waiter. It settles through grant(), failOldest() or failAll(),
   * or rejects with `timeoutError()` after `timeout` ms (undefined or
   * Infinity: never), or with an AbortError when `signal` aborts.
   */
  wait(timeout: number | undefined, signal: AbortSignal | undefined, timeoutError: () => Error, owner?: O): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T, O> = { owner: owner as O, resolve, reject, settled: false, timer: undefined, signal, onAbort: undefined };
      if (timeout !== undefined && timeout !== Infinity) {
        waiter.timer = setTimeout(() => this.settle(waiter, timeoutError()), timeout);
      }
      if (signal !== undefined) {
        waiter.onAbort = () => this.settle(waiter, abortError(signal));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.live++;
    });
  }

  /** The owner of the oldest waiter still waiting (the one grant() would serve); undefined when nobody waits. */
  oldestOwner(): O | undefined {
    for (let i = this.head; i < this.waiters.length; i++) {
      if (!this.waiters[i].settled) return this.waiters[i].owner;
    }
    return undefined;
  }

  /** Resolves the oldest waiter with `value`; false when nobody waits. */
  grant(value: T): boolean {
    const waiter = this.shift();
    if (waiter === undefined) return false;
    this.settle(waiter, undefined, value);
    return true;
  }

  /** Rejects the oldest waiter with `error`; false when nobody waits. */
  failOldest(error: Error): boolean {
    const waiter = this.shift();
    if (waiter === undefined) return false;
    this.settle(waiter, error);
    return true;
  }

  /** Rejects every waiter, each with its own `error()`. */
  failAll(error: () => Error): void {
    const waiters = this.waiters.slice(this.head);
    this.waiters = [];
    this.head = 0;
    for (const waiter of waiters) this.settle(waiter, error());
  }

  /** How many waiters of `owner` have not settled yet (a scan: for inspection, not hot paths). */
  pendingOf(owner: O): number {
    let count = 0;
    for (let i = this.head; i < this.waiters.length; i++) {
      if (!this.waiters[i].settled && this.waiters[i].owner === owner) count++;
    }
    return count;
  }

  /** Rejects the waiters of `owner`, each with its own `error()`; the others keep their place. */
  failOwnedBy(owner: O, error: () => Error): void {
    for (const waiter of this.waiters.slice(this.head)) {
      if (waiter.owner === owner) this.settle(waiter, error());
    }
  }

  // The oldest waiter still waiting, taken off the queue.
  private shift(): Waiter<T, O> | undefined {
    while (this.head < this.waiters.length) {
      const waiter = this.waiters[this.head++];
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        // Drop the served prefix once it is most of the array.
        this.waiters = this.waiters.slice(this.head);
        this.head = 0;
      }
      if (!waiter.settled) return waiter;
    }
    this.waiters = [];
    this.head = 0;
    return undefined;
  }

  private settle(waiter: Waiter<T, O>, error: Error | undefined, value?: T): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.live--;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    // Waiters that gave up stay queued until they reach the head; when they
    // outnumber the live ones, sweep them (amortised O(1) per acquire).
    const queued = this.waiters.length - this.head;
    if (queued - this.live > this.live + 32) {
      this.waiters = this.waiters.filter((w, i) => i >= this.head && !w.settled);
      this.head = 0;
    }
    if (this.live === 0) this.onIdle();
    if (error === undefined) waiter.resolve(value as T);
    else waiter.reject(error);
  }
}
