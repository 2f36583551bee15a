// Options of RedisSemaphore: defaults and checks, thrown before any Redis call.
// The checks are validate/'s, which never loads the native addon: the Redis
// entry must work where the addon cannot load (Windows, a failed build).
import { invalidArgType, invalidArgValue } from '../errors';
import type { SemaphoreError } from '../errors';
import { TIMEOUT_MAX, validateBoolean, validateInteger, validateObject } from '../validate';

/** The Redis commands RedisSemaphore uses (its Lua scripts): an ioredis `Redis` or `Cluster` fits. */
export interface RedisClient {
  // any: ioredis overloads these variadically; a narrower type would reject its own Redis and Cluster.
  eval(...args: any[]): Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
  evalsha(...args: any[]): Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
}

/** Options of `new RedisSemaphore(name, options)`. */
export interface RedisSemaphoreOptions {
  /** An ioredis client (`Redis` or `Cluster`) that you own: close() leaves it open. Give this or `url`. */
  client?: RedisClient;
  /** A Redis URL (`redis://host:6379/0`, `rediss://...`): the semaphore makes its own ioredis client and closes it in close(). Default `redis://127.0.0.1:6379` when there is no `client` either. */
  url?: string;
  /** How many holders at once, across every process and host; an integer >= 1. Every user of one name must pass the same value. Default 1. */
  value?: number;
  /** Milliseconds a unit stays taken after Redis last renewed its lease (on the Redis server's clock), so after its holder dies, hangs or loses Redis. Default 10000. */
  leaseMs?: number;
  /** Milliseconds between refreshes of a held lease; less than leaseMs. Default leaseMs / 3. */
  refreshMs?: number;
  /** Milliseconds between two tries of a waiting acquire() (Redis has no blocking semaphore wait). Default 10. */
  retryMs?: number;
  /**
   * Milliseconds that tryAcquire(), each try of acquire() and release() wait
   * for a connection that is down when they are sent, before they reject
   * `ERR_SEMAPHORE_REDIS`; also the TCP connect timeout of the client made
   * from `url`. A command sent on a live connection is not timed by this (a
   * slow Redis is not an unreachable one). Default 1000.
   */
  connectTimeoutMs?: number;
  /** Called when a held unit's lease is lost (or may be: not renewed in time); the same as `sem.on('lost', fn)`. */
  onLostLease?: (error: SemaphoreError) => void;
  /** One line per operation on stderr, prefixed "[posix-semaphore]". Also NODE_DEBUG=posix-semaphore. Default false. */
  debug?: boolean;
}

export interface ResolvedRedisOptions {
  client: RedisClient | undefined;
  url: string;
  value: number;
  leaseMs: number;
  refreshMs: number;
  retryMs: number;
  connectTimeoutMs: number;
  onLostLease: ((error: SemaphoreError) => void) | undefined;
  debug: boolean;
}

export const DEFAULT_URL = 'redis://127.0.0.1:6379';

export function validateName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  if (name.length === 0) throw invalidArgValue('name', name, 'must name a semaphore (a non-empty string)');
  return name;
}

export function resolveRedisOptions(options: unknown): ResolvedRedisOptions {
  const o = validateObject(options, 'options') ?? {};
  const client = o.client as RedisClient | undefined;
  if (client !== undefined && (client === null || typeof client !== 'object' || typeof client.evalsha !== 'function')) {
    throw invalidArgType('options.client', 'an ioredis client', client);
  }
  if (o.url !== undefined && typeof o.url !== 'string') throw invalidArgType('options.url', 'of type string', o.url);
  if (client !== undefined && o.url !== undefined) {
    throw invalidArgValue('options.url', o.url, 'cannot be given with options.client (pass one of them)');
  }
  const leaseMs = o.leaseMs === undefined ? 10_000 : validateInteger(o.leaseMs, 'options.leaseMs', 10, TIMEOUT_MAX);
  const refreshMs =
    o.refreshMs === undefined ? Math.max(1, Math.floor(leaseMs / 3)) : validateInteger(o.refreshMs, 'options.refreshMs', 1, leaseMs - 1);
  const onLostLease = o.onLostLease;
  if (onLostLease !== undefined && typeof onLostLease !== 'function') {
    throw invalidArgType('options.onLostLease', 'of type function', onLostLease);
  }
  const debug = validateBoolean(o.debug, 'options.debug') ?? false;
  return {
    client,
    url: o.url ?? DEFAULT_URL,
    value: o.value === undefined ? 1 : validateInteger(o.value, 'options.value', 1, TIMEOUT_MAX),
    leaseMs,
    refreshMs,
    retryMs: o.retryMs === undefined ? 10 : validateInteger(o.retryMs, 'options.retryMs', 1, TIMEOUT_MAX),
    connectTimeoutMs: o.connectTimeoutMs === undefined ? 1000 : validateInteger(o.connectTimeoutMs, 'options.connectTimeoutMs', 1, TIMEOUT_MAX),
    onLostLease: onLostLease as ResolvedRedisOptions['onLostLease'],
    debug,
  };
}
