import { EventEmitter } from 'node:events';
import { debugFromEnv, debugLog } from '../debug';
import { errnoOf, invalidArgType, SemaphoreError } from '../errors';
import type { SharedAcquireOptions, SharedSemaphore } from '../lock';
import { resolveRedisOptions, validateAcquireOptions, validateName } from './options';
import type { RedisClient, RedisSemaphoreOptions } from './options';
import { getLeaseClass, requirePeer } from './peers';
import type { Lease, LeaseConstructor } from './peers';
import { abortError, WaitQueue } from '../wait-queue';

const ETIMEDOUT = errnoOf('ETIMEDOUT');
const asyncDisposeSymbol: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
const noop = (): void => undefined;

/** A Redis failure, with the client's error as `cause`. */
function redisError(err: unknown, operation: string, name: string): SemaphoreError {
  if (err instanceof SemaphoreError) return err;
  const message = `Redis failed during ${operation} of semaphore '${name}': ${(err as Error)?.message ?? String(err)}`;
  return new SemaphoreError('ERR_SEMAPHORE_REDIS', { syscall: operation, semaphore: name, message, cause: err });
}

/**
 * A counting semaphore kept in Redis, with the Promise API of the POSIX
 * `Semaphore`: processes on many hosts share it through one Redis server.
 *
 * Built on redis-semaphore (one sorted set per name, Lua scripts) over
 * ioredis. Each unit taken is a lease of `leaseMs`, refreshed every
 * `refreshMs` while held: a holder that dies frees its unit when the lease
 * runs out, and a holder whose lease is lost hears of it through the
 * `'lost'` event (or `onLostLease`).
 *
 * One instance may hold several units (`value` > 1): each acquire() takes
 * its own lease and release() gives back the oldest. acquire() calls on one
 * instance are served in FIFO order; only the oldest one polls Redis.
 *
 * @example
 * const { RedisSemaphore } = require('posix-semaphore/redis');
 * const sem = new RedisSemaphore('jobs', { url: process.env.REDIS_URL, value: 2 });
 * sem.on('lost', (err) => log.error(err));
 * await sem.withLock(() => runJob(), { timeout: 30_000 });
 * await sem.close();
 */
export class RedisSemaphore extends EventEmitter implements SharedSemaphore, AsyncDisposable {
  /** The name given; the Redis key is `semaphore:NAME` (redis-semaphore's convention, after any ioredis keyPrefix). */
  readonly name: string;
  /** How many holders the semaphore admits at once. */
  readonly limit: number;
  /** Milliseconds a unit stays taken after its holder stops refreshing it. */
  readonly leaseMs: number;

  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly Lease: LeaseConstructor;
  private readonly refreshMs: number;
  private readonly retryMs: number;
  private readonly debug: boolean;
  private readonly held: Lease[] = []; // oldest first
  // acquire() calls waiting their turn; when none is left, stop asking Redis.
  private readonly waiters = new WaitQueue<Lease>(() => this.poll?.abort());
  private poll: AbortController | undefined; // the one acquire loop in flight
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  /**
   * @param name the semaphore's name, a non-empty string; the same name on the same Redis is the same semaphore.
   * @throws TypeError/RangeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`) for bad arguments.
   * @throws Error `MODULE_NOT_FOUND` when ioredis or redis-semaphore is not installed.
   */
  constructor(name: string, options?: RedisSemaphoreOptions) {
    super();
    this.name = validateName(name);
    const opts = resolveRedisOptions(options);
    this.limit = opts.value;
    this.leaseMs = opts.leaseMs;
    this.refreshMs = opts.refreshMs;
    this.retryMs = opts.retryMs;
    this.debug = opts.debug || debugFromEnv;
    this.Lease = getLeaseClass();
    if (opts.client !== undefined) {
      this.client = opts.client;
      this.ownsClient = false;
    } else {
      const { Redis } = requirePeer('ioredis');
      const client = new Redis(opts.url);
      // Failures reach the caller through the commands; without a listener
      // ioredis would print every reconnection error.
      client.on('error', (err: Error) => {
        if (this.debug) debugLog(this.name, `redis: ${err.message}`);
      });
      this.client = client;
      this.ownsClient = true;
    }
    if (opts.onLostLease !== undefined) this.on('lost', opts.onLostLease);
    if (this.debug) debugLog(this.name, `redis semaphore, value ${this.limit}, lease ${this.leaseMs} ms`);
  }

  /** true once close() has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Takes one unit. Resolves as soon as Redis grants one to this instance,
   * in FIFO order among this instance's acquire() calls; while none is
   * free, the oldest call asks Redis again every `retryMs`.
   *
   * Rejects with SemaphoreError `ETIMEDOUT` after `timeout` ms, an
   * AbortError when `signal` aborts, `ERR_SEMAPHORE_CLOSED` when the
   * semaphore is closed, `ERR_SEMAPHORE_REDIS` when Redis fails. A rejected
   * acquire() never holds a unit.
   */
  async acquire(options?: SharedAcquireOptions): Promise<void> {
    await this.take(options);
  }

  /**
   * Takes one unit if one is free and no acquire() of this instance is
   * waiting: one round trip, never a wait. Resolves to whether it took one.
   */
  async tryAcquire(): Promise<boolean> {
    if (this.closed) throw SemaphoreError.closed(this.name, 'tryAcquire');
    if (this.waiters.pending > 0) return false;
    const lease = await this.tryLease('tryAcquire');
    if (lease === undefined) return false;
    this.held.push(lease);
    return true;
  }

  /**
   * Gives back the oldest unit this instance holds. Resolves once Redis
   * has it back.
   * @throws SemaphoreError `ERR_SEMAPHORE_NOT_HELD` when this instance holds none (a Redis semaphore cannot grow past its value), `ERR_SEMAPHORE_CLOSED` after close().
   */
  async release(): Promise<void> {
    if (this.closed) throw SemaphoreError.closed(this.name, 'release');
    const lease = this.held.shift();
    if (lease === undefined) {
      throw new SemaphoreError('ERR_SEMAPHORE_NOT_HELD', {
        syscall: 'release',
        semaphore: this.name,
        message: `this instance holds no unit of semaphore '${this.name}' to release`,
      });
    }
    await this.giveBack(lease);
  }

  /**
   * Runs `fn` holding one unit: acquire(), then `fn`, then gives back that
   * very unit in a finally. Returns what `fn` returns.
   *
   * @example
   * const rows = await sem.withLock(() => db.exportAll(), { timeout: 10_000 });
   */
  async withLock<T>(fn: () => T | PromiseLike<T>, options?: SharedAcquireOptions): Promise<T> {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    const lease = await this.take(options);
    try {
      return await fn();
    } finally {
      const i = this.held.indexOf(lease);
      // Not there: released already (by close(), or by a release() in fn).
      if (i !== -1) {
        this.held.splice(i, 1);
        await this.giveBack(lease);
      }
    }
  }

  /**
   * Closes the semaphore: pending acquire() calls reject with
   * `ERR_SEMAPHORE_CLOSED`, the units this instance holds are given back
   * (unlike a POSIX handle: a lease would only run out anyway), and the
   * Redis connection is closed if this instance opened it (`url`), not if
   * it was given (`client`). Never rejects; calling it again returns the
   * same Promise.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.waiters.failAll(() => SemaphoreError.closed(this.name, 'acquire'));
    this.poll?.abort();
    const held = this.held.splice(0);
    if (this.debug) debugLog(this.name, `close, giving back ${held.length} unit(s)`);
    this.closing = (async () => {
      await Promise.allSettled(held.map((lease) => this.giveBack(lease)));
      // Acquires still in flight give back what they get.
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      if (this.ownsClient) await quit(this.client);
    })();
    return this.closing;
  }

  /** Closes the semaphore: `await using sem = new RedisSemaphore(...)`. */
  [asyncDisposeSymbol](): Promise<void> {
    return this.close();
  }

  // acquire(), resolving to the lease it took.
  private take(options: SharedAcquireOptions | undefined): Promise<Lease> {
    let timeout: number | undefined;
    let signal: AbortSignal | undefined;
    try {
      ({ timeout, signal } = validateAcquireOptions(options));
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(SemaphoreError.closed(this.name, 'acquire'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (timeout === 0) {
      if (this.waiters.pending > 0) return Promise.reject(this.timedOut());
      return this.tryLease('acquire').then((lease) => {
        if (lease === undefined) throw this.timedOut();
        this.held.push(lease);
        return lease;
      });
    }
    const taken = this.waiters.wait(timeout, signal, () => this.timedOut());
    this.pump();
    return taken;
  }

  // One try at Redis; resolves to the lease taken, or undefined.
  private tryLease(operation: string): Promise<Lease | undefined> {
    const lease = this.newLease({ acquireAttemptsLimit: 1, retryInterval: 0 });
    return this.track(
      lease.tryAcquire().then(
        async (acquired) => {
          if (this.debug) debugLog(this.name, `${operation}: ${acquired ? 'took a unit' : 'none free'}`);
          if (!acquired) return undefined;
          if (this.closed) {
            await this.giveBack(lease);
            throw SemaphoreError.closed(this.name, operation);
          }
          return lease;
        },
        (err: unknown) => {
          throw redisError(err, operation, this.name);
        },
      ),
    );
  }

  // The async path: one redis-semaphore acquire loop in flight per instance,
  // while some acquire() waits; the unit it takes goes to the oldest waiter.
  private pump(): void {
    if (this.poll !== undefined || this.closed || this.waiters.pending === 0) return;
    const poll = new AbortController();
    this.poll = poll;
    const lease = this.newLease({ acquireTimeout: Infinity, retryInterval: this.retryMs });
    void this.track(
      lease.tryAcquire(poll.signal).then(
        async (acquired) => {
          this.poll = undefined;
          // The loop ends with a unit even when aborted during a try.
          if (acquired) await this.grant(lease);
          this.pump();
        },
        (err: unknown) => {
          this.poll = undefined;
          if (!poll.signal.aborted) {
            if (this.debug) debugLog(this.name, `acquire: ${(err as Error)?.message}`);
            this.waiters.failOldest(redisError(err, 'acquire', this.name));
          }
          this.pump();
        },
      ),
    );
  }

  // Hands a unit just taken to the oldest waiter, or gives it back.
  private grant(lease: Lease): Promise<void> | void {
    if (this.waiters.pending === 0 || this.closed) {
      if (this.debug) debugLog(this.name, 'acquire: took a unit nobody waits for; giving it back');
      return this.giveBack(lease).catch(noop); // its lease runs out if this fails
    }
    if (this.debug) debugLog(this.name, 'acquire: took a unit');
    this.held.push(lease);
    this.waiters.grant(lease);
  }

  private newLease(options: { acquireTimeout?: number; acquireAttemptsLimit?: number; retryInterval: number }): Lease {
    const lease: Lease = new this.Lease(this.client, this.name, this.limit, {
      ...options,
      lockTimeout: this.leaseMs,
      refreshInterval: this.refreshMs,
      leaseMs: this.leaseMs,
      onLockLost: (cause) => this.lost(lease, cause),
    });
    return lease;
  }

  private giveBack(lease: Lease): Promise<void> {
    return this.track(
      lease.release().then(
        () => {
          if (this.debug) debugLog(this.name, 'release: gave a unit back');
        },
        (err: unknown) => {
          throw redisError(err, 'release', this.name);
        },
      ),
    );
  }

  // A held lease ran out or was removed: the unit may be someone else's now.
  private lost(lease: Lease, cause: Error): void {
    // Kept in `held`: the holder will still call release(), which must not
    // give back another unit instead.
    if (!this.held.includes(lease)) return;
    const error = new SemaphoreError('ERR_SEMAPHORE_LEASE_LOST', {
      syscall: 'refresh',
      semaphore: this.name,
      message:
        `the lease on a unit of semaphore '${this.name}' was lost while this process held it ` +
        `(it ran out, or Redis lost it); another holder may be running`,
      cause: lease.refreshError ?? cause,
    });
    if (this.debug) debugLog(this.name, 'lease lost');
    // Outside redis-semaphore's timer, so that a throwing listener is an
    // uncaught exception of the program's, not a rejection of the library's.
    process.nextTick(() => {
      // Nobody listens to 'lost': an unhandled 'error' event, which ends
      // the process unless the program listens to 'error'.
      if (this.listenerCount('lost') > 0) this.emit('lost', error);
      else this.emit('error', error);
    });
  }

  private timedOut(): SemaphoreError {
    return SemaphoreError.fromErrno(ETIMEDOUT, 'acquire', this.name);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const forget = (): void => {
      this.inflight.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }
}

export interface RedisSemaphore {
  /** A held unit's lease was lost (see RedisSemaphoreOptions.onLostLease). */
  on(event: 'lost', listener: (error: SemaphoreError) => void): this;
  /** A lost lease nobody listened to with 'lost'. */
  on(event: 'error', listener: (error: Error) => void): this;
  once(event: 'lost', listener: (error: SemaphoreError) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
}

async function quit(client: RedisClient): Promise<void> {
  const c = client as unknown as { status?: string; quit(): Promise<unknown>; disconnect(): void };
  if (c.status === 'ready') {
    try {
      await c.quit();
      return;
    } catch {
      // fall through: drop the connection
    }
  }
  c.disconnect();
}
