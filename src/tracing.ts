// diagnostics_channel tracing, published the way undici and node:http do so
// that APM tools can subscribe: `posix-semaphore:acquire` for the Promise
// calls, `posix-semaphore:wait` for the sync ones. semaphore.ts calls in here
// only after `channel.hasSubscribers` said yes: with no subscriber, a call
// costs one property read.
import * as diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';

/**
 * How a traced call ended, in the context's `outcome`:
 * `acquired` (took a unit), `busy` (tryWait/tryAcquire found none free),
 * `timeout` (ETIMEDOUT), `aborted` (the AbortSignal fired), `closed` (the
 * handle was closed before or while it waited), `interrupted` (a signal
 * ended a sync wait: EINTR), `error` (any other failure; see `error`).
 */
export type TraceOutcome = 'acquired' | 'busy' | 'timeout' | 'aborted' | 'closed' | 'interrupted' | 'error';

/**
 * The context object of `posix-semaphore:acquire` (`acquire()`, and so
 * `withLock()`), the same object on each of its events:
 * `start` and `end` when the call is made and returns its Promise, then
 * `asyncStart` and `asyncEnd` when the Promise settles, preceded by `error`
 * when it rejects. `outcome` and `waitedMs` are set from `asyncStart` (and
 * `error`) on; `error` is the rejection (set by diagnostics_channel).
 *
 * @example
 * const dc = require('node:diagnostics_channel');
 * dc.tracingChannel('posix-semaphore:acquire').subscribe({
 *   start(ctx) {}, end(ctx) {}, asyncStart(ctx) {}, error(ctx) {},
 *   asyncEnd(ctx) { console.log(ctx.semaphore, ctx.outcome, ctx.waitedMs); },
 * });
 */
export interface AcquireTraceContext {
  /** The semaphore's name: with its leading '/' for the POSIX class, as given for RedisSemaphore. */
  semaphore: string;
  /** `tryAcquire` only for RedisSemaphore, whose tryAcquire() is a Promise (the POSIX one is on `posix-semaphore:wait`). */
  operation: 'acquire' | 'tryAcquire';
  /** The options as passed to acquire() (`{ timeout, signal }`), or undefined. */
  options: { timeout?: number; signal?: AbortSignal } | undefined;
  /** How it ended; undefined until `asyncStart`/`error`. */
  outcome: TraceOutcome | undefined;
  /** Milliseconds from the call to the Promise settling; undefined until `asyncStart`/`error`. */
  waitedMs: number | undefined;
  /** RedisSemaphore: the fencing token of the unit taken, from `asyncStart` on when `outcome` is `acquired`. */
  token?: number;
  /** Set by diagnostics_channel when the Promise rejects. */
  error?: unknown;
}

/**
 * The context object of `posix-semaphore:wait`: the sync calls `wait()`,
 * `tryWait()`, `timedWait(ms)` and `tryAcquire()`, each traced with
 * `start`, then `error` if it throws, then `end` (no async events: they
 * return when done). `outcome` and `waitedMs` are set by `error` and `end`.
 */
export interface WaitTraceContext {
  /** The semaphore's name, with its leading '/'. */
  semaphore: string;
  operation: 'wait' | 'tryWait' | 'timedWait' | 'tryAcquire';
  /** `{ timeout: ms }` for timedWait(ms), `{ timeout: 0 }` for the try calls, `{}` for wait(). */
  options: { timeout?: number };
  /** How it ended; `busy` when tryWait() threw EAGAIN or tryAcquire() returned false. */
  outcome: TraceOutcome | undefined;
  /** Milliseconds the call blocked. */
  waitedMs: number | undefined;
  /** Set by diagnostics_channel when the call throws. */
  error?: unknown;
  /** Set by diagnostics_channel: what the call returned (tryAcquire's boolean). */
  result?: unknown;
}

/** The part of a TracingChannel used here; missing before Node 18.19 (then never traced). */
interface Traced {
  readonly hasSubscribers: boolean;
  tracePromise<R>(fn: () => Promise<R>, context: object): Promise<R>;
  traceSync<R>(fn: () => R, context: object): R;
}

function tracingChannel(name: string): Traced {
  // Node 18.19+ and 20 have diagnostics_channel.tracingChannel; @types/node 20 types it, older Nodes lack it.
  const make = (diagnostics as unknown as { tracingChannel?: (name: string) => Record<string, unknown> }).tracingChannel;
  if (typeof make !== 'function') {
    return {
      hasSubscribers: false,
      tracePromise: (fn) => fn(),
      traceSync: (fn) => fn(),
    };
  }
  const channel = make(name);
  if (!('hasSubscribers' in channel)) {
    // Node < 20.13: TracingChannel has no hasSubscribers of its own.
    const parts = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((event) => channel[event] as diagnostics.Channel);
    Object.defineProperty(channel, 'hasSubscribers', { get: () => parts.some((part) => part.hasSubscribers) });
  }
  return channel as unknown as Traced;
}

/** `posix-semaphore:acquire`: the Promise calls. */
export const acquireChannel: Traced = tracingChannel('posix-semaphore:acquire');
/** `posix-semaphore:wait`: the sync calls. */
export const waitChannel: Traced = tracingChannel('posix-semaphore:wait');

/** The outcome a failure stands for. */
export function outcomeOf(err: unknown): TraceOutcome {
  const { code, name } = (err ?? {}) as { code?: unknown; name?: unknown };
  switch (code) {
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EAGAIN':
      return 'busy';
    case 'EINTR':
      return 'interrupted';
    case 'ERR_SEMAPHORE_CLOSED':
      return 'closed';
    case 'ABORT_ERR':
      return 'aborted';
    default:
      return name === 'AbortError' ? 'aborted' : 'error';
  }
}

/**
 * Runs `acquire` (the untraced acquire() of `semaphore`) under the acquire
 * channel. RedisSemaphore passes `tokenOf` (the token of what it took, or
 * undefined: busy) and its tryAcquire() as `operation` 'tryAcquire'.
 */
export function traceAcquire<O extends AcquireTraceContext['options'], R = void>(
  semaphore: { readonly name: string },
  options: O,
  acquire: (options: O) => Promise<R>,
  tokenOf?: (result: R) => number | undefined,
  operation: AcquireTraceContext['operation'] = 'acquire',
): Promise<R> {
  const context: AcquireTraceContext = { semaphore: semaphore.name, operation, options, outcome: undefined, waitedMs: undefined };
  const started = performance.now();
  return acquireChannel.tracePromise(
    () =>
      acquire(options).then(
        (result) => {
          const token = tokenOf?.(result);
          context.outcome = tokenOf === undefined || token !== undefined ? 'acquired' : 'busy';
          if (token !== undefined) context.token = token;
          context.waitedMs = performance.now() - started;
          return result;
        },
        (err: unknown) => {
          context.outcome = outcomeOf(err);
          context.waitedMs = performance.now() - started;
          throw err;
        },
      ),
    context,
  );
}

/** Runs `call` (an untraced sync call of `semaphore`) under the wait channel. */
export function traceWait<R>(
  semaphore: { readonly name: string },
  operation: WaitTraceContext['operation'],
  timeout: number | undefined,
  call: () => R,
): R {
  const context: WaitTraceContext = {
    semaphore: semaphore.name,
    operation,
    options: timeout === undefined ? {} : { timeout },
    outcome: undefined,
    waitedMs: undefined,
  };
  const started = performance.now();
  return waitChannel.traceSync(() => {
    try {
      const result = call();
      context.outcome = result === false ? 'busy' : 'acquired';
      return result;
    } catch (err) {
      context.outcome = outcomeOf(err);
      throw err;
    } finally {
      context.waitedMs = performance.now() - started;
    }
  }, context);
}
