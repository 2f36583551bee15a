// The Redis side of a RedisSemaphore, apart from its scripts (scripts.ts)
// and leases (lease.ts): the client it opens from a URL, the keys of a name,
// the errors Redis failures become, and closing the connection.
import { SemaphoreError } from '../errors';
import type { RedisClient } from './options';
import { requirePeer } from './peers';

/**
 * An ioredis client for `url`; its 'error' events (each reconnection's) go
 * to `onError`. A TCP connect gives up after `connectTimeoutMs`, and a
 * disconnect() ends the socket at once (ioredis otherwise keeps a 2 s
 * timer alive for a socket that already failed, and the process with it).
 */
export function connect(url: string, connectTimeoutMs: number, onError: (err: Error) => void): RedisClient {
  const { Redis } = requirePeer('ioredis');
  const client = new Redis(url, { connectTimeout: connectTimeoutMs, disconnectTimeout: 0 });
  // Failures reach the caller through the commands; without a listener
  // ioredis would print every reconnection error.
  client.on('error', onError);
  return client;
}

/** A Redis failure, with the client's error as `cause`. */
export function redisError(err: unknown, operation: string, name: string): SemaphoreError {
  if (err instanceof SemaphoreError) return err;
  const message = `Redis failed during ${operation} of semaphore '${name}': ${(err as Error)?.message ?? String(err)}`;
  return new SemaphoreError('ERR_SEMAPHORE_REDIS', { syscall: operation, semaphore: name, message, cause: err });
}

/**
 * The Redis keys of semaphore `name`: its holders and its fencing-token
 * counter, one hash tag so that a Cluster keeps both in one slot; and the
 * key posix-semaphore 1.0 used, checked so that the two versions never
 * share a name unawares. That key shares the slot only when neither the
 * name nor the client's keyPrefix has a brace: otherwise it is not checked.
 */
export function keysOf(name: string, client: RedisClient): string[] {
  const tag = `{semaphore:${name}}`;
  const keys = [`${tag}:holders`, `${tag}:token`];
  const prefix = (client as { options?: { keyPrefix?: unknown } }).options?.keyPrefix;
  if (!/[{}]/.test(name) && !(typeof prefix === 'string' && /[{}]/.test(prefix))) keys.push(`semaphore:${name}`);
  return keys;
}

/** The client's connection status ('ready', 'reconnecting', ...), when it has one. */
export function statusOf(client: RedisClient): unknown {
  return (client as { status?: unknown }).status;
}

/** Drops the connection at once, whatever is queued. */
export function disconnect(client: RedisClient): void {
  (client as unknown as { disconnect(): void }).disconnect();
}

/** Closes the connection: QUIT when it is up (what was sent gets its answer), else drops it. */
export async function quit(client: RedisClient): Promise<void> {
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

/**
 * `command`, unless the connection is not up when it is sent and does not
 * come up within `ms`: then a rejection with `unreachable()`, and whatever
 * the command still yields later goes to `late` (a unit it took is given
 * back). ioredis queues a command while it reconnects and fails it only
 * after many tries (10 s and more), which must not be how long an
 * unreachable Redis takes to say so. A command sent on a live connection
 * is not timed: a slow or stalled Redis is not an unreachable one, and the
 * leases held are judged by their own deadlines.
 */
export function whenReachable<T>(
  client: RedisClient,
  ms: number,
  command: Promise<T>,
  unreachable: () => Error,
  late: (value: T) => void,
): Promise<T> {
  if (statusOf(client) === undefined || statusOf(client) === 'ready') return command;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    // No 'ready' listener per command (many semaphores may share one client):
    // a connection that came up meanwhile has sent the command, which is
    // then answered as on any live connection.
    const timer = setTimeout(() => {
      if (statusOf(client) === 'ready') return;
      settled = true;
      reject(unreachable());
    }, ms);
    command.then(
      (value) => {
        if (settled) return late(value);
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
