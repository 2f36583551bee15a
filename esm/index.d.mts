// Types of the ESM entry (esm/index.mjs): the same declarations as the
// CommonJS entry, with the names that `import { ... }` can see.
import Semaphore from '../dist/index.js';

export default Semaphore;
export { Semaphore };

/** {@inheritDoc SemaphoreError} */
export declare const SemaphoreError: typeof Semaphore.SemaphoreError;
export type SemaphoreError = Semaphore.SemaphoreError;
/** {@inheritDoc AbortError} */
export declare const AbortError: typeof Semaphore.AbortError;
export type AbortError = Semaphore.AbortError;
export type SemaphoreOptions = Semaphore.SemaphoreOptions;
export type AcquireOptions = Semaphore.AcquireOptions;
export type UnlinkOptions = Semaphore.UnlinkOptions;
export type SemaphoreErrorCode = Semaphore.SemaphoreErrorCode;
export type SharedSemaphore = Semaphore.SharedSemaphore;
export type SharedAcquireOptions = Semaphore.SharedAcquireOptions;
export type AwaitOnly<T> = Semaphore.AwaitOnly<T>;
export type AcquireTraceContext = Semaphore.AcquireTraceContext;
export type WaitTraceContext = Semaphore.WaitTraceContext;
export type TraceOutcome = Semaphore.TraceOutcome;
