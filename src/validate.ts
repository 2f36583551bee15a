import { constants } from './binding';
import { invalidArgType, invalidArgValue, outOfRange } from './errors';
import type { Trust } from './owner';

/** Longest name, in UTF-8 bytes after the leading '/': /dev/shm/sem.NAME must fit NAME_MAX (255). */
export const NAME_MAX_BYTES = 251;

/**
 * Longest name on macOS, in bytes after the leading '/': its kernel refuses
 * (ENAMETOOLONG) a name that, with the '/' and the terminating NUL, is
 * longer than PSEMNAMLEN (31).
 */
export const DARWIN_NAME_MAX_BYTES = 29;

/** Longest timeout in milliseconds, as for setTimeout. */
export const TIMEOUT_MAX = 2 ** 31 - 1;

const DEFAULT_MODE = 0o600;

/**
 * Checks a semaphore name and returns it with exactly one leading '/'.
 * 'jobs' and '/jobs' are the same semaphore.
 */
export function normalizeName(name: unknown, argument = 'name'): string {
  if (typeof name !== 'string') throw invalidArgType(argument, 'of type string', name);
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare.length === 0) throw invalidArgValue(argument, name, 'must name a semaphore (1 to 251 bytes after an optional leading "/")');
  if (bare.includes('/')) throw invalidArgValue(argument, name, 'must not contain "/" except as its first character');
  if (bare.includes('\0')) throw invalidArgValue(argument, name, 'must not contain null bytes');
  const bytes = Buffer.byteLength(bare, 'utf8');
  if (bytes > NAME_MAX_BYTES) throw invalidArgValue(argument, name, `must be at most ${NAME_MAX_BYTES} bytes long (it is ${bytes})`);
  if (process.platform === 'darwin' && bytes > DARWIN_NAME_MAX_BYTES) {
    throw invalidArgValue(argument, name, `must be at most ${DARWIN_NAME_MAX_BYTES} bytes long after the "/" on macOS, whose limit (PSEMNAMLEN) is 31 with the "/" and the final NUL (it is ${bytes})`);
  }
  if (Buffer.from(bare, 'utf8').toString('utf8') !== bare) throw invalidArgValue(argument, name, 'must be well-formed Unicode');
  return `/${bare}`;
}

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

/** A permission mode like fs.open takes it: a number, or a string of octal digits ('0600'). */
export function validateMode(value: unknown, argument: string): number {
  if (typeof value === 'string') {
    if (!/^[0-7]{1,4}$/.test(value)) throw invalidArgValue(argument, value, 'must be a string of octal digits like "0600"');
    value = parseInt(value, 8);
  }
  return validateInteger(value, argument, 0, 0o777);
}

export function validateObject(value: unknown, argument: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(argument, 'of type object', value);
  return value as Record<string, unknown>;
}

export interface ResolvedOptions {
  create: boolean;
  exclusive: boolean;
  value: number;
  mode: number;
  retryOnEintr: boolean;
  debug: boolean;
  closeOnExit: boolean;
  releaseOnExit: boolean;
  trust: Trust;
}

/** A list of user or group ids (integers >= 0) or names (non-empty strings). */
function validateIds(value: unknown, argument: string): Array<number | string> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgType(argument, 'an array of ids or names', value);
  value.forEach((id, i) => {
    if (typeof id === 'string') {
      if (id.length === 0 || id.includes(':') || id.includes('\n')) throw invalidArgValue(`${argument}[${i}]`, id, 'must be a user or group name');
    } else if (typeof id === 'number') {
      validateInteger(id, `${argument}[${i}]`, 0, 2 ** 32 - 2);
    } else {
      throw invalidArgType(`${argument}[${i}]`, 'of type number or string', id);
    }
  });
  return value.slice();
}

/** Defaults and checks for the constructor's options; throws before any syscall. */
export function resolveOptions(options: unknown): ResolvedOptions {
  const o = validateObject(options, 'options') ?? {};
  const exclusive = validateBoolean(o.exclusive, 'options.exclusive') ?? false;
  const create = validateBoolean(o.create, 'options.create');
  if (exclusive && create === false) {
    throw invalidArgValue('options.exclusive', exclusive, 'needs create: true (O_EXCL only applies with O_CREAT)');
  }
  return {
    create: create ?? true,
    exclusive,
    value: o.value === undefined ? 1 : validateInteger(o.value, 'options.value', 0, constants.SEM_VALUE_MAX),
    mode: o.mode === undefined ? DEFAULT_MODE : validateMode(o.mode, 'options.mode'),
    retryOnEintr: validateBoolean(o.retryOnEintr, 'options.retryOnEintr') ?? false,
    debug: validateBoolean(o.debug, 'options.debug') ?? false,
    closeOnExit: validateBoolean(o.closeOnExit, 'options.closeOnExit') ?? true,
    releaseOnExit: validateBoolean(o.releaseOnExit, 'options.releaseOnExit') ?? false,
    trust: { users: validateIds(o.trustedUsers, 'options.trustedUsers'), groups: validateIds(o.trustedGroups, 'options.trustedGroups') },
  };
}
