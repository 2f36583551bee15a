// Argument checks shared by the POSIX class and posix-semaphore/redis: each
// throws Node's own argument errors (ERR_INVALID_ARG_TYPE, ...) before any
// syscall or Redis call. Nothing under validate/ loads the native addon, so
// the Redis entry works where the addon cannot load (Windows, a failed build).
import { invalidArgType, outOfRange } from '../errors';
import { warnUnknownOptions } from './unknown';

/** Longest timeout in milliseconds, as for setTimeout (and Redis's PEXPIRE takes an integer). */
export const TIMEOUT_MAX = 2 ** 31 - 1;

export function validateBoolean(value: unknown, argument: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidArgType(argument, 'of type boolean', value);
  return value;
}

export function validateInteger(value: unknown, argument: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(argument, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(argument, 'an integer', value);
  if (value < min || value > max) throw outOfRange(argument, `>= ${min} and <= ${max}`, value);
  return value;
}

/** A number of milliseconds: finite, 0..TIMEOUT_MAX, fractions allowed. */
export function validateTimeout(value: unknown, argument: string): number {
  if (typeof value !== 'number') throw invalidArgType(argument, 'of type number', value);
  if (Number.isNaN(value) || value < 0 || value > TIMEOUT_MAX) {
    throw outOfRange(argument, `a number of milliseconds >= 0 and <= ${TIMEOUT_MAX}`, value);
  }
  return value;
}

export function validateObject(value: unknown, argument: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(argument, 'of type object', value);
  return value as Record<string, unknown>;
}

const ACQUIRE_OPTIONS = ['timeout', 'signal'] as const;

/** acquire()'s and withLock()'s options, the same for both classes; Infinity means no timeout. */
export function validateAcquireOptions(options: unknown): { timeout: number | undefined; signal: AbortSignal | undefined } {
  const o = validateObject(options, 'options') ?? {};
  warnUnknownOptions(o, ACQUIRE_OPTIONS, 'acquire()/withLock()');
  const timeout = o.timeout === undefined || o.timeout === Infinity ? undefined : validateTimeout(o.timeout, 'options.timeout');
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  return { timeout, signal };
}
