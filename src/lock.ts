// The Promise surface that every semaphore of this package offers, so that
// code can take a POSIX semaphore (one host) or a Redis one (many hosts)
// without knowing which. Types only: importing this file loads nothing.

/** Options of `acquire()` and `withLock()`, the same for every kind of semaphore. */
export interface SharedAcquireOptions {
  /** Milliseconds to wait before rejecting with `ETIMEDOUT`; 0 means do not wait. Default: wait forever. */
  timeout?: number;
  /** Rejects the acquire with an AbortError (`code: 'ABORT_ERR'`) when aborted. */
  signal?: AbortSignal;
}

/**
 * A `T`, or a Promise of one, that code can only `await`. TypeScript
 * refuses it as a condition (TS2801: "This condition will always return
 * true ... Did you forget to use 'await'?"), and a `.then()` callback that
 * returns (rather than throws) does not compile either: a plain `T` has no
 * `then`.
 */
export interface AwaitOnly<T> {
  then(onfulfilled: (value: T) => never): unknown;
}

/**
 * What `Semaphore` (POSIX, one host) and `RedisSemaphore` (Redis, many
 * hosts) have in common. Write code against this type and the switch from
 * one to the other is the line that constructs it.
 *
 * The POSIX class answers `tryAcquire()`, `release()` and `close()` at once
 * (plain values); the Redis class needs a round trip and returns Promises.
 * `await` works on both.
 *
 * Both reject alike: `SemaphoreError` with `code: 'ETIMEDOUT'` when the
 * timeout runs out, `'ERR_SEMAPHORE_CLOSED'` after `close()`, and an
 * AbortError (`name: 'AbortError'`, `code: 'ABORT_ERR'`) when the signal
 * aborts. A rejected acquire never holds a unit.
 *
 * @example
 * async function exportAll(sem: SharedSemaphore) {
 *   return sem.withLock(() => db.exportAll(), { timeout: 10_000 });
 * }
 * exportAll(new Semaphore('export'));                        // one host
 * exportAll(new RedisSemaphore('export', { url: REDIS_URL })); // many hosts
 *
 * Exported by the package as `SharedSemaphore`.
 */
export interface Shared {
  /** The name given to the constructor (the POSIX class adds a leading '/'). */
  readonly name: string;
  /** true once close() has been called. */
  readonly closed: boolean;
  /** Takes one unit, waiting (without blocking the event loop) until one is free. */
  acquire(options?: SharedAcquireOptions): Promise<void>;
  /**
   * Takes one unit if one is free right now; never waits for one.
   *
   * Through this type the answer can only be awaited:
   * `if (await sem.tryAcquire())`. The POSIX class answers a plain boolean
   * and the Redis class a Promise, so a bare `if (sem.tryAcquire())` would
   * always be true for Redis: it does not compile (TS2801), nor does
   * `.then()`, which a boolean has not. On a class itself the type is the
   * class's own: `boolean` for `Semaphore`, `Promise<boolean>` for `RedisSemaphore`.
   */
  tryAcquire(): AwaitOnly<boolean>;
  /** Gives back one unit. */
  release(): void | Promise<void>;
  /** acquire(), run `fn`, release() in a finally; returns what `fn` returns. */
  withLock<T>(fn: () => T | PromiseLike<T>, options?: SharedAcquireOptions): Promise<T>;
  /** Closes this handle; pending acquires reject with `ERR_SEMAPHORE_CLOSED`. Twice is a no-op. */
  close(): void | Promise<void>;
}

/**
 * What each class declares that it implements (`implements
 * SharedSemaphore`): the same members, with `tryAcquire()` answering either
 * kind. Users get {@link Shared}, under this name, from the package's
 * exports; the POSIX class as exported (src/index.ts) also has the
 * `AwaitOnly` signature that makes it one.
 */
export interface SharedSemaphore extends Omit<Shared, 'tryAcquire'> {
  tryAcquire(): boolean | Promise<boolean>;
}
