// Options of RedisSemaphore: defaults and checks, thrown before any Redis call.
// Not validate.ts: that module loads the native addon, and the Redis entry
// must work where the addon cannot load (Windows, a failed build).
import { invalidArgType, invalidArgValue, outOfRange } from '../errors';
import type { SharedAcquireOptions } from '../lock';
import type { SemaphoreError } from '../errors';

/** The Redis commands RedisSemaphore uses (its Lua scripts): an ioredis `Redis` or `Cluster` fits. */
export interface RedisClient {
  eval(...args: any[]): Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any
  evalsha(...args: any[]): Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any
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
  onLostLease: ((error: SemaphoreError) => void) | undefined;
  debug: boolean;
}

const INT_MAX = 2 ** 31 - 1; // setTimeout's limit, and Redis's PEXPIRE takes an integer
export const DEFAULT_URL = 'redis://127.0.0.1:6379';

export function validateName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  if (name.length === 0) throw invalidArgValue('name', name, 'must name a semaphore (a non-empty string)');
  return name;
}

function integer(value: unknown, argument: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(argument, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(argument, 'an integer', value);
  if (value < min || value > max) throw outOfRange(argument, `>= ${min} and <= ${max}`, value);
  return value;
}

export function resolveRedisOptions(options: unknown): ResolvedRedisOptions {
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw invalidArgType('options', 'of type object', options);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  const client = o.client as RedisClient | undefined;
  if (client !== undefined && (client === null || typeof client !== 'object' || typeof client.evalsha !== 'function')) {
    throw invalidArgType('options.client', 'an ioredis client', client);
  }
  if (o.url !== undefined && typeof o.url !== 'string') throw invalidArgType('options.url', 'of type string', o.url);
  if (client !== undefined && o.url !== undefined) {
    throw invalidArgValue('options.url', o.url, 'cannot be given with options.client (pass one of them)');
  }
  const leaseMs = o.leaseMs === undefined ? 10_000 : integer(o.leaseMs, 'options.leaseMs', 10, INT_MAX);
  const refreshMs =
    o.refreshMs === undefined ? Math.max(1, Math.floor(leaseMs / 3)) : integer(o.refreshMs, 'options.refreshMs', 1, leaseMs - 1);
  const onLostLease = o.onLostLease;
  if (onLostLease !== undefined && typeof onLostLease !== 'function') {
    throw invalidArgType('options.onLostLease', 'of type function', onLostLease);
  }
  if (o.debug !== undefined && typeof o.debug !== 'boolean') throw invalidArgType('options.debug', 'of type boolean', o.debug);
  return {
    client,
    url: (o.url as string | undefined) ?? DEFAULT_URL,
    value: o.value === undefined ? 1 : integer(o.value, 'options.value', 1, INT_MAX),
    leaseMs,
    refreshMs,
    retryMs: o.retryMs === undefined ? 10 : integer(o.retryMs, 'options.retryMs', 1, INT_MAX),
    onLostLease: onLostLease as ResolvedRedisOptions['onLostLease'],
    debug: (o.debug as boolean | undefined) ?? false,
  };
}

/** acquire()'s options, as the POSIX class checks them; Infinity means no timeout. */
export function validateAcquireOptions(options: unknown): { timeout: number | undefined; signal: AbortSignal | undefined } {
  if (options === undefined || options === null) return { timeout: undefined, signal: undefined };
  if (typeof options !== 'object' || Array.isArray(options)) throw invalidArgType('options', 'of type object', options);
  const { timeout, signal } = options as SharedAcquireOptions;
  if (timeout !== undefined && timeout !== Infinity) {
    if (typeof timeout !== 'number') throw invalidArgType('options.timeout', 'of type number', timeout);
    if (Number.isNaN(timeout) || timeout < 0 || timeout > INT_MAX) {
      throw outOfRange('options.timeout', `a number of milliseconds >= 0 and <= ${INT_MAX}`, timeout);
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  return { timeout: timeout === Infinity ? undefined : timeout, signal };
}
