// RedisSemaphore, the class: its public calls and their TSDoc, and the
// state they share (the acquire loop, the leases held, their loss). Over
// 300 lines for one reason: that state machine is one concern, and every
// step of it touches the same fields; the Redis plumbing (client.ts), the
// leases (lease.ts), the scripts (scripts.ts) and the options (options.ts)
// live beside it.
import { EventEmitter } from 'node:events';
import { debugFromEnv, debugLog } from '../debug';
import { errnoOf, invalidArgType, SemaphoreError } from '../errors';
import type { SharedAcquireOptions, SharedSemaphore } from '../lock';
import { connect, disconnect, keysOf, quit, redisError, statusOf } from './client';
import { Lease } from './lease';
import type { LeaseOwner } from './lease';
import { validateAcquireOptions } from '../validate';
import { resolveRedisOptions, validateName } from './options';
import type { RedisClient, RedisSemaphoreOptions } from './options';
import { abortError, WaitQueue } from '../async/wait-queue';

const ETIMEDOUT = errnoOf('ETIMEDOUT');
const asyncDisposeSymbol: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
const noop = (): void => undefined;

/**
 * A counting semaphore kept in Redis, with the Promise API of the POSIX
 * `Semaphore`: processes on many hosts share it through one Redis server.
 *
 * Each unit taken is a lease of `leaseMs` on the Redis server's clock,
 * renewed every `refreshMs` while held: a holder that dies frees its unit
 * when the lease runs out, and a holder whose lease is lost hears of it
 * through the `'lost'` event (or `onLostLease`), and through release(),
 * which then rejects with `ERR_SEMAPHORE_LEASE_LOST`. Every grant carries a
 * fencing token, larger than any granted before on the same semaphore, for
 * the resource to refuse a holder whose lease is stale.
 *
 * One instance may hold several units (`value` > 1): each acquire() takes
 * its own lease and release() gives back the oldest. acquire() calls on one
 * instance are served in FIFO order; only the oldest one polls Redis.
 *
 * @example
 * const { RedisSemaphore } = require('posix-semaphore/redis');
 * const sem = new RedisSemaphore('jobs', { url: process.env.REDIS_URL, value: 2 });
 * sem.on('lost', (err) => log.error(err));
 * await sem.withLock((token) => runJob({ fencingToken: token }), { timeout: 30_000 });
 * await sem.close();
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the interface below types its events
export class RedisSemaphore extends EventEmitter implements SharedSemaphore, AsyncDisposable {
  /** The name given; the Redis keys are `{semaphore:NAME}:holders` and `{semaphore:NAME}:token` (after any ioredis keyPrefix). */
  readonly name: string;
  /** How many holders the semaphore admits at once. */
  readonly limit: number;
  /** Milliseconds a unit stays taken after Redis last renewed its lease. */
  readonly leaseMs: number;

  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly owner: LeaseOwner;
  private readonly retryMs: number;
  private readonly debug: boolean;
  private readonly held: Lease[] = []; // oldest first
  // acquire() calls waiting their turn; when none is left, stop asking Redis.
  private readonly waiters = new WaitQueue<Lease>(() => this.pause?.abort());
  private polling = false; // the one acquire loop of this instance runs
  private pause: AbortController | undefined; // ends the loop's wait between two tries
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  // The last failure of Redis seen (a command's, or the owned client's
  // 'error' event), cleared by the next answer: the cause of a timeout
  // spent waiting for an unreachable Redis.
  private redisFailure: unknown;
  // Errors already reported through 'lost'/'error', so that none is reported twice.
  private readonly reported = new WeakSet<object>();

  /**
   * @param name the semaphore's name, a non-empty string; the same name on the same Redis is the same semaphore.
   * @throws TypeError/RangeError (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`) for bad arguments.
   * @throws Error `MODULE_NOT_FOUND` when `url` is used and ioredis is not installed.
   */
  constructor(name: string, options?: RedisSemaphoreOptions) {
    super();
    this.name = validateName(name);
    const opts = resolveRedisOptions(options);
    this.limit = opts.value;
    this.leaseMs = opts.leaseMs;
    this.retryMs = opts.retryMs;
    this.debug = opts.debug || debugFromEnv;
    this.ownsClient = opts.client === undefined;
    this.client =
      opts.client ??
      connect(opts.url, (err) => {
        this.redisFailure = err;
        if (this.debug) debugLog(this.name, `redis: ${err.message}`);
      });
    this.owner = {
      name: this.name,
      client: this.client,
      keys: keysOf(this.name, this.client),
      limit: this.limit,
      leaseMs: this.leaseMs,
      refreshMs: opts.refreshMs,
      leaseLost: (lease, error) => this.lost(lease, error),
      track: (promise) => this.track(promise),
    };
    if (opts.onLostLease !== undefined) this.on('lost', opts.onLostLease);
    if (this.debug) debugLog(this.name, `redis semaphore, value ${this.limit}, lease ${this.leaseMs} ms`);
  }

  /** true once close() has been called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * The fencing token of the unit this instance took last and still
   * holds, or undefined when it holds none (with several units taken at
   * once, withLock() hands each `fn` its own). Tokens of one semaphore grow
   * with every grant, across every process: pass the token to the resource
   * you guard, and have it refuse a request carrying a smaller token than
   * one it has seen (see docs/redis.md, "Fencing tokens").
   *
   * @example
   * if (await sem.tryAcquire()) await storage.write(key, data, { fencingToken: sem.token });
   */
  get token(): number | undefined {
    return this.held.at(-1)?.token;
  }

  /**
   * Takes one unit; its fencing token is then `token`.
   * Resolves as soon as Redis grants one to this instance, in FIFO order
   * among this instance's acquire() calls; while none is free, the oldest
   * call asks Redis again every `retryMs`.
   *
   * Rejects with SemaphoreError `ETIMEDOUT` after `timeout` ms, an
   * AbortError when `signal` aborts, `ERR_SEMAPHORE_CLOSED` when the
   * semaphore is closed, `ERR_SEMAPHORE_REDIS` when Redis fails (the
   * client's error as `cause`). A rejected acquire() never holds a unit.
   *
   * @example
   * await sem.acquire({ timeout: 5000 });
   * const token = sem.token;
   */
  async acquire(options?: SharedAcquireOptions): Promise<void> {
    await this.take(options);
  }

  /**
   * Takes one unit if one is free and no acquire() of this instance is
   * waiting: one try at Redis, never a wait. Resolves to whether it took
   * one (its fencing token is then `token`).
   *
   * Rejects with `ERR_SEMAPHORE_REDIS` when Redis fails or cannot be
   * reached (the client's error as `cause`): an unreachable Redis is not a
   * busy semaphore.
   */
  async tryAcquire(): Promise<boolean> {
    if (this.closed) throw SemaphoreError.closed(this.name, 'tryAcquire');
    if (this.waiters.pending > 0) return false;
    const lease = await this.tryLease('tryAcquire');
    if (lease === undefined) return false;
    this.hold(lease);
    return true;
  }

  /**
   * Gives back the oldest unit this instance holds. Resolves once Redis
   * has it back.
   * @throws SemaphoreError `ERR_SEMAPHORE_LEASE_LOST` when that unit's lease was lost while held (it ran out, Redis lost it, or this process could not renew it in time): the critical section may have overlapped another holder's. The unit counts as given back.
   * @throws SemaphoreError `ERR_SEMAPHORE_NOT_HELD` when this instance holds none (a Redis semaphore cannot grow past its value), `ERR_SEMAPHORE_CLOSED` after close(), `ERR_SEMAPHORE_REDIS` when Redis fails.
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
   * Runs `fn` holding one unit: acquire(), then `fn(token)` with the
   * grant's fencing token, then gives back that very unit in a finally.
   * Returns what `fn` returns. When the lease was lost while `fn` ran,
   * rejects with `ERR_SEMAPHORE_LEASE_LOST` even though `fn` succeeded
   * (if `fn` threw, its error wins and the loss goes to `'lost'`).
   *
   * @example
   * const rows = await sem.withLock((token) => db.exportAll({ fencingToken: token }), { timeout: 10_000 });
   */
  async withLock<T>(fn: (token: number) => T | PromiseLike<T>, options?: SharedAcquireOptions): Promise<T> {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    const lease = await this.take(options);
    let result: T;
    try {
      result = await fn(lease.token);
    } catch (err) {
      await this.forget(lease).catch((lost: unknown) => {
        // fn's error is the one the caller gets; a loss it would hide goes to 'lost'.
        if ((lost as SemaphoreError)?.code === 'ERR_SEMAPHORE_LEASE_LOST' && !this.reported.has(lost as SemaphoreError)) {
          this.report(lost as SemaphoreError);
        }
      });
      throw err;
    }
    await this.forget(lease);
    return result;
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
    this.pause?.abort();
    const held = this.held.splice(0);
    if (this.debug) debugLog(this.name, `close, giving back ${held.length} unit(s)`);
    this.closing = (async () => {
      if (this.ownsClient && statusOf(this.client) !== 'ready') {
        // Unreachable: give-backs would wait in ioredis's queue as long as it
        // retries, and a disconnect() while it waits to reconnect leaves that
        // queue pending for ever (ioredis 5.x). Drop the connection and wait
        // for nothing; the leases held run out by themselves.
        disconnect(this.client);
        return;
      }
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
        this.hold(lease);
        return lease;
      });
    }
    const taken = this.waiters.wait(timeout, signal, () => this.timedOut());
    this.pump();
    return taken;
  }

  // One try at Redis; resolves to the lease taken, or undefined.
  private tryLease(operation: string): Promise<Lease | undefined> {
    return this.track(
      Lease.take(this.owner).then(
        async (lease) => {
          this.redisFailure = undefined;
          if (this.debug) debugLog(this.name, `${operation}: ${lease ? `took a unit, token ${lease.token}` : 'none free'}`);
          if (lease === undefined) return undefined;
          if (this.closed) {
            await this.giveBack(lease).catch(noop);
            throw SemaphoreError.closed(this.name, operation);
          }
          return lease;
        },
        (err: unknown) => {
          this.redisFailure = err;
          throw redisError(err, operation, this.name);
        },
      ),
    );
  }

  // The async path: one loop of tries per instance while some acquire()
  // waits; the unit it takes goes to the oldest waiter.
  private pump(): void {
    if (this.polling || this.closed || this.waiters.pending === 0) return;
    this.polling = true;
    void this.track(
      this.poll().finally(() => {
        this.polling = false;
        this.pump();
      }),
    );
  }

  private async poll(): Promise<void> {
    while (!this.closed && this.waiters.pending > 0) {
      let lease: Lease | undefined;
      try {
        lease = await Lease.take(this.owner);
        this.redisFailure = undefined;
      } catch (err) {
        this.redisFailure = err;
        if (this.debug) debugLog(this.name, `acquire: ${(err as Error)?.message}`);
        this.waiters.failOldest(redisError(err, 'acquire', this.name));
        continue;
      }
      if (lease !== undefined) {
        this.grant(lease);
        continue;
      }
      const pause = new AbortController();
      this.pause = pause;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.retryMs);
        pause.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.pause = undefined;
    }
  }

  // Hands a unit just taken to the oldest waiter, or gives it back.
  private grant(lease: Lease): void {
    if (this.waiters.pending === 0 || this.closed) {
      if (this.debug) debugLog(this.name, 'acquire: took a unit nobody waits for; giving it back');
      void this.giveBack(lease).catch(noop); // its lease runs out if this fails
      return;
    }
    if (this.debug) debugLog(this.name, `acquire: took a unit, token ${lease.token}`);
    this.hold(lease);
    this.waiters.grant(lease);
  }

  private hold(lease: Lease): void {
    this.held.push(lease);
    lease.keep();
  }

  // withLock's release of its own unit, unless released already (by close(), or by a release() in fn).
  private forget(lease: Lease): Promise<void> {
    const i = this.held.indexOf(lease);
    if (i === -1) return Promise.resolve();
    this.held.splice(i, 1);
    return this.giveBack(lease);
  }

  private giveBack(lease: Lease): Promise<void> {
    return this.track(
      lease.release().then(
        () => {
          if (this.debug) debugLog(this.name, `release: gave back token ${lease.token}`);
        },
        (err: unknown) => {
          if (this.debug) debugLog(this.name, `release: ${(err as Error)?.message}`);
          throw redisError(err, 'release', this.name);
        },
      ),
    );
  }

  // A held lease ran out, was removed, or could not be renewed in time: the unit may be someone else's now.
  private lost(lease: Lease, error: SemaphoreError): void {
    // Kept in `held`: the holder will still call release(), which must
    // reject for this unit, not give back another one instead.
    if (!this.held.includes(lease)) return;
    if (this.debug) debugLog(this.name, `lease lost, token ${lease.token}`);
    this.report(error);
  }

  private report(error: SemaphoreError): void {
    this.reported.add(error);
    // On a tick of its own, so that a throwing listener is an uncaught
    // exception of the program's, not a rejection inside this library.
    process.nextTick(() => {
      // Nobody listens to 'lost': an unhandled 'error' event, which ends
      // the process unless the program listens to 'error'.
      if (this.listenerCount('lost') > 0) this.emit('lost', error);
      else this.emit('error', error);
    });
  }

  // ETIMEDOUT means "busy": while Redis cannot be reached, say that instead.
  private timedOut(): SemaphoreError {
    const status = statusOf(this.client);
    const down = status === 'reconnecting' || status === 'close' || status === 'end';
    if (typeof status === 'string' && status !== 'ready' && (down || this.redisFailure !== undefined)) {
      const cause = this.redisFailure ?? new Error(`the Redis connection is '${status}'`);
      return redisError(cause, 'acquire', this.name);
    }
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

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed on() overloads of the class above
export interface RedisSemaphore {
  /** A held unit's lease was lost (see RedisSemaphoreOptions.onLostLease). */
  on(event: 'lost', listener: (error: SemaphoreError) => void): this;
  /** A lost lease nobody listened to with 'lost'. */
  on(event: 'error', listener: (error: Error) => void): this;
  once(event: 'lost', listener: (error: SemaphoreError) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
}
