// The entry `posix-semaphore/redis`: the POSIX class's Promise API over
// Redis, for processes on many hosts. Loads neither the native addon nor,
// until a RedisSemaphore is made from a url, ioredis.
export { RedisSemaphore } from './redis/semaphore';
export type { RedisSemaphoreOptions, RedisClient } from './redis/options';
export type { Shared as SharedSemaphore, SharedAcquireOptions, AwaitOnly } from './lock';
export { SemaphoreError, AbortError } from './errors';
export type { SemaphoreErrorCode } from './errors';
