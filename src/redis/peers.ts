// The optional peers, loaded on first use so that users of the POSIX class
// never need them: ioredis (the client) and redis-semaphore (the
// distributed semaphore: a sorted set of leases kept by Lua scripts).
import type { Redis } from 'ioredis';
import type * as RedisSemaphoreLib from 'redis-semaphore';
import type { LockOptions } from 'redis-semaphore';
import type { RedisClient } from './options';

type Peers = { ioredis: { Redis: typeof Redis }; 'redis-semaphore': typeof RedisSemaphoreLib };

/** `require(id)`, or an error that says what to install. */
export function requirePeer<K extends keyof Peers>(id: K): Peers[K] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(id) as Peers[K];
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(`'${id}'`)) {
      const error = new Error(
        `posix-semaphore/redis needs the package '${id}', which is not installed. ` +
          'Install the Redis peers next to posix-semaphore: npm install ioredis redis-semaphore',
        { cause: err },
      );
      throw Object.assign(error, { code: 'MODULE_NOT_FOUND' });
    }
    throw err;
  }
}

/** One unit of a RedisSemaphore: a redis-semaphore lock, refreshed while held. */
export interface Lease {
  tryAcquire(signal?: AbortSignal): Promise<boolean>;
  release(): Promise<void>;
  readonly isAcquired: boolean;
  /** The last Redis error of a refresh, if any: why the lease was lost. */
  readonly refreshError: unknown;
}

export type LeaseConstructor = new (client: RedisClient, key: string, limit: number, options: LockOptions & { leaseMs: number }) => Lease;

let leaseClass: LeaseConstructor | undefined;

/** The Lease class, made on first use from redis-semaphore's Semaphore. */
export function getLeaseClass(): LeaseConstructor {
  if (leaseClass !== undefined) return leaseClass;
  const { Semaphore } = requirePeer('redis-semaphore');

  class RedisLease extends Semaphore implements Lease {
    private readonly leaseMs: number;
    private lastRefresh = 0; // when (this host's clock) Redis last confirmed the lease
    refreshError: unknown = undefined;

    constructor(client: RedisClient, key: string, limit: number, options: LockOptions & { leaseMs: number }) {
      super(client as ConstructorParameters<typeof Semaphore>[0], key, limit, options);
      this.leaseMs = options.leaseMs;
    }

    protected override async _acquire(signal?: AbortSignal): Promise<boolean> {
      const acquired = await super._acquire(signal);
      // Late by one round trip at most: the winning try stamped the lease just before.
      if (acquired) this.lastRefresh = Date.now();
      return acquired;
    }

    // redis-semaphore lets a refresh that fails (Redis unreachable) reject
    // inside its timer, an unhandled rejection that ends the process. Here
    // the lease stays held while it may still be alive in Redis, and is
    // reported lost (by returning false) once it cannot be.
    protected override async _refresh(): Promise<boolean> {
      const start = Date.now();
      try {
        const refreshed = await super._refresh();
        if (refreshed) this.lastRefresh = start;
        return refreshed;
      } catch (err) {
        this.refreshError = err;
        return Date.now() - this.lastRefresh < this.leaseMs;
      }
    }
  }
  leaseClass = RedisLease;
  return leaseClass;
}
