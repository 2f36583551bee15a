// The package entry: `require('posix-semaphore')` is the Semaphore class
// itself, which also carries Semaphore, SemaphoreError, AbortError and
// default, so that CommonJS, ESM and TypeScript users all find it.
import * as errors from './errors';
import type * as lock from './lock';
import * as semaphore from './semaphore';
import type * as tracing from './tracing';

/** {@inheritDoc semaphore.Semaphore} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- merged with the interface below on purpose
class Semaphore extends semaphore.Semaphore {
  /**
   * The class itself, for `import Semaphore from 'posix-semaphore'`. Set
   * below; declared here so that TypeScript finds the default import without
   * `esModuleInterop` (no TS1259).
   */
  declare static readonly default: typeof Semaphore;
}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the interface only adds tryAcquire()'s overloads
interface Semaphore {
  /** {@inheritDoc semaphore.Semaphore.tryAcquire} */
  tryAcquire(): boolean;
  // What lets this class be a SharedSemaphore, whose tryAcquire() can only
  // be awaited (src/lock.ts); calls on this class take the signature above.
  tryAcquire(): lock.AwaitOnly<boolean>;
}
const SemaphoreClass = Semaphore;
type SemaphoreInstance = Semaphore;

// eslint-disable-next-line @typescript-eslint/no-namespace -- the types of `Semaphore.X`, for CommonJS users of `export =`
namespace Semaphore {
  export type SemaphoreOptions = semaphore.SemaphoreOptions;
  export type AcquireOptions = semaphore.AcquireOptions;
  export type UnlinkOptions = semaphore.UnlinkOptions;
  export type SemaphoreErrorCode = errors.SemaphoreErrorCode;
  /** What this class and `RedisSemaphore` (posix-semaphore/redis) have in common. */
  export type SharedSemaphore = lock.Shared;
  export type SharedAcquireOptions = lock.SharedAcquireOptions;
  /** What `SharedSemaphore.tryAcquire()` returns: a boolean or a Promise of one, to be awaited. */
  export type AwaitOnly<T> = lock.AwaitOnly<T>;
  /** The context of the `posix-semaphore:acquire` tracing channel's events (diagnostics_channel). */
  export type AcquireTraceContext = tracing.AcquireTraceContext;
  /** The context of the `posix-semaphore:wait` tracing channel's events (diagnostics_channel). */
  export type WaitTraceContext = tracing.WaitTraceContext;
  export type TraceOutcome = tracing.TraceOutcome;
  /** The class itself, for `const { Semaphore } = require('posix-semaphore')`. */
  export const Semaphore = SemaphoreClass;
  export type Semaphore = SemaphoreInstance;
  export const SemaphoreError = errors.SemaphoreError;
  export type SemaphoreError = errors.SemaphoreError;
  export const AbortError = errors.AbortError;
  export type AbortError = errors.AbortError;
}

// For `import Semaphore from 'posix-semaphore'` under any interop setting.
Object.defineProperty(Semaphore, 'default', { value: Semaphore, enumerable: false });

export = Semaphore;
