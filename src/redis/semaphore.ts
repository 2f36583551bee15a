// RedisSemaphore, the class: its public calls and their TSDoc, and the
// state they share (the acquire loop, the leases held, their loss). Over
// 300 lines for one reason: that state machine is one concern, and every
// step of it touches the same fields; the Redis plumbing (client.ts), the
// leases (lease.ts), the scripts (scripts.ts) and the options (options.ts)
// live beside it.
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { debugFromEnv, debugLog } from '../debug';
import { errnoOf, invalidArgType, SemaphoreError } from '../errors';
import type { SharedAcquireOptions, SharedSemaphore } from '../lock';
import { connect, disconnect, keysOf, quit, redisError, statusOf, whenReachable } from './client';
import { Lease } from './lease';
import type { LeaseOwner } from './lease';
import { validateAcquireOptions } from '../validate';
import { resolveRedisOptions, validateName } from './options';
import type { RedisClient, RedisSemaphoreOptions } from './options';
import { abortError, WaitQueue } from '../async/wait-queue';
import { acquireChannel, traceAcquire } from '../tracing';

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
  private readonly connectTimeoutMs: number;
  private readonly debug: boolean;
  private readonly units: Lease[] = []; // held, oldest first
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
  // The units withLock() holds, each with the controller of the signal its fn was given.
  private readonly locked = new Map<Lease, AbortController>();

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
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.debug = opts.debug || debugFromEnv;
    this.ownsClient = opts.client === undefined;
    this.client =
      opts.client ??
      connect(opts.url, opts.connectTimeoutMs, (err) => {
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
   * The `value` it was made with: how many holders it admits at once (the
   * same as `limit`). Unlike the POSIX `value`, not the count free now:
   * that lives in Redis, a round trip away.
   */
  get value(): number {
    return this.limit;
  }

  /** How many acquire() calls (withLock()'s included) wait on this instance. */
  get pending(): number {
    return this.waiters.pending;
  }

  /** How many units this instance holds (taken and not released yet; a lost one until its release()). */
  get held(): number {
    return this.units.length;
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
    return this.units.at(-1)?.token;
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
    await this.tracedTake(options);
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
  tryAcquire(): Promise<boolean> {
    if (!acquireChannel.hasSubscribers) return this.untracedTryAcquire();
    return traceAcquire(
      this,
      undefined,
      () => this.untracedTryAcquire(),
      (took) => (took ? this.token : undefined),
      'tryAcquire',
    );
  }

  private async untracedTryAcquire(): Promise<boolean> {
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
    const lease = this.units.shift();
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
   * Runs `fn` holding one unit: acquire(), then `fn(token, signal)` with
   * the grant's fencing token and an AbortSignal that aborts (its `reason`
   * the `ERR_SEMAPHORE_LEASE_LOST` error) as soon as the lease is lost, then
   * gives back that very unit in a finally. Returns what `fn` returns.
   *
   * When the lease was lost while `fn` ran, rejects with
   * `ERR_SEMAPHORE_LEASE_LOST` even though `fn` succeeded; if `fn` threw,
   * its error wins. Either way this withLock() is what reports the loss:
   * `'lost'` listeners hear of it too, but with none, it is not also
   * emitted as `'error'` (as a loss of a unit taken by acquire() is).
   *
   * @example
   * const rows = await sem.withLock((token, signal) => db.exportAll({ fencingToken: token, signal }), { timeout: 10_000 });
   */
  async withLock<T>(fn: (token: number, signal: AbortSignal) => T | PromiseLike<T>, options?: SharedAcquireOptions): Promise<T> {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    const lease = await this.tracedTake(options);
    const controller = new AbortController();
    this.locked.set(lease, controller);
    const tellWork = (lost: unknown): void => {
      if (isLost(lost) && !controller.signal.aborted) controller.abort(lost);
    };
    let result: T;
    try {
      result = await fn(lease.token, controller.signal);
    } catch (err) {
      await this.forget(lease).catch((lost: unknown) => {
        tellWork(lost);
        // fn's error is the one the caller gets; 'lost' listeners hear of a loss found only now.
        if (isLost(lost) && !this.reported.has(lost)) this.report(lost, false);
      });
      throw err;
    } finally {
      this.locked.delete(lease);
    }
    await this.forget(lease).catch((lost: unknown) => {
      tellWork(lost);
      throw lost;
    });
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
    const held = this.units.splice(0);
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

  /**
   * `{ name, value, pending, held, closed }`, what `JSON.stringify(sem)`
   * shows: never the client, its URL (and password) or other internals.
   */
  toJSON(): { name: string; value: number; pending: number; held: number; closed: boolean } {
    return { name: this.name, value: this.value, pending: this.pending, held: this.held, closed: this.closed };
  }

  /** `util.inspect(sem)` and console.log: `RedisSemaphore { name: 'jobs', value: 1, pending: 0, held: 1, closed: false }`. */
  [inspect.custom](depth: number, options: { stylize(text: string, style: string): string; depth?: number | null }, nested: typeof inspect): string {
    const label = this.constructor.name || 'RedisSemaphore';
    if (depth < 0) return options.stylize(`[${label}]`, 'special');
    return `${label} ${nested(this.toJSON(), { ...options, depth: options.depth == null ? options.depth : options.depth - 1 })}`;
  }

  /** Closes the semaphore: `await using sem = new RedisSemaphore(...)`. */
  [asyncDisposeSymbol](): Promise<void> {
    return this.close();
  }

  // acquire(), traced when something subscribes to posix-semaphore:acquire.
  private tracedTake(options: SharedAcquireOptions | undefined): Promise<Lease> {
    if (!acquireChannel.hasSubscribers) return this.take(options);
    let taken: Lease | undefined;
    const token = (o: SharedAcquireOptions | undefined): Promise<number> =>
      this.take(o).then((lease) => {
        taken = lease;
        return lease.token;
      });
    return traceAcquire(this, options, token, (t) => t).then(() => taken as Lease);
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
      this.reachable(Lease.take(this.owner), operation, (late) => late && this.giveBack(late).catch(noop)).then(
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
        lease = await this.reachable(Lease.take(this.owner), 'acquire', (late) => late && this.giveBack(late).catch(noop));
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
    this.units.push(lease);
    lease.keep();
  }

  // withLock's release of its own unit, unless released already (by close(), or by a release() in fn).
  private forget(lease: Lease): Promise<void> {
    const i = this.units.indexOf(lease);
    if (i === -1) return Promise.resolve();
    this.units.splice(i, 1);
    return this.giveBack(lease);
  }

  private giveBack(lease: Lease): Promise<void> {
    return this.track(
      this.reachable(lease.release(), 'release', noop).then(
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
    // Kept in `units`: the holder will still call release(), which must
    // reject for this unit, not give back another one instead.
    if (!this.units.includes(lease)) return;
    if (this.debug) debugLog(this.name, `lease lost, token ${lease.token}`);
    const work = this.locked.get(lease);
    // A withLock() holds it: its fn is told now, and withLock() rejects
    // with this error, so the loss is not also an 'error'.
    work?.abort(error);
    this.report(error, work === undefined);
  }

  private report(error: SemaphoreError, orError: boolean): void {
    this.reported.add(error);
    // On a tick of its own, so that a throwing listener is an uncaught
    // exception of the program's, not a rejection inside this library.
    process.nextTick(() => {
      // A unit taken by acquire() whose loss nobody listens to: an
      // unhandled 'error' event, which ends the process unless the
      // program listens to 'error'.
      if (this.listenerCount('lost') > 0) this.emit('lost', error);
      else if (orError) this.emit('error', error);
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

  // A command that waits longer than connectTimeoutMs for a connection that is down rejects.
  private reachable<T>(command: Promise<T>, operation: string, late: (value: T) => unknown): Promise<T> {
    const unreachable = (): Error => {
      const status = String(statusOf(this.client));
      const why = `no connection to Redis within connectTimeoutMs (${this.connectTimeoutMs} ms); the connection is '${status}'`;
      const last = this.redisFailure === undefined ? '' : `; last error: ${messageOf(this.redisFailure)}`;
      return new SemaphoreError('ERR_SEMAPHORE_REDIS', {
        syscall: operation,
        semaphore: this.name,
        message: `Redis failed during ${operation} of semaphore '${this.name}': ${why}${last}`,
        cause: this.redisFailure ?? new Error(why),
      });
    };
    return whenReachable(this.client, this.connectTimeoutMs, command, unreachable, (value) => void late(value));
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

function isLost(err: unknown): err is SemaphoreError {
  return err instanceof SemaphoreError && err.code === 'ERR_SEMAPHORE_LEASE_LOST';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
