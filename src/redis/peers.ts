// The optional peer, loaded on first use so that users of the POSIX class
// never need it: ioredis, the Redis client a RedisSemaphore opens from `url`.
import type { Redis } from 'ioredis';

type Peers = { ioredis: { Redis: typeof Redis } };

/** `require(id)`, or an error that says what to install. */
export function requirePeer<K extends keyof Peers>(id: K): Peers[K] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, loaded only when used
    return require(id) as Peers[K];
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(`'${id}'`)) {
      const error = new Error(
        `posix-semaphore/redis needs the package '${id}', which is not installed. ` +
          'Install the Redis peer next to posix-semaphore: npm install ioredis',
        { cause: err },
      );
      throw Object.assign(error, { code: 'MODULE_NOT_FOUND' });
    }
    throw err;
  }
}
