// The options of `new Semaphore(name, options)`: defaults and checks, thrown
// before any syscall.
import { invalidArgType, invalidArgValue } from '../errors';
import type { Trust } from '../owner';
import { validateBoolean, validateInteger, validateObject } from './checks';
import { DEFAULT_MODE, validateMode } from './mode';
import { warnUnknownOptions } from './unknown';

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
  robust: boolean;
}

/** The constructor's option names; any other is warned about (validate/unknown.ts). */
const OPTIONS = [
  'create',
  'exclusive',
  'value',
  'mode',
  'retryOnEintr',
  'debug',
  'closeOnExit',
  'releaseOnExit',
  'robust',
  'trustedUsers',
  'trustedGroups',
] as const;

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
  return (value as Array<number | string>).slice();
}

/**
 * Defaults and checks for the constructor's options; throws before any
 * syscall. `valueMax` is the platform's SEM_VALUE_MAX (the binding's
 * constant: the caller passes it, so that nothing here loads the addon).
 */
export function resolveOptions(options: unknown, valueMax: number): ResolvedOptions {
  const o = validateObject(options, 'options') ?? {};
  warnUnknownOptions(o, OPTIONS, 'new Semaphore()');
  const exclusive = validateBoolean(o.exclusive, 'options.exclusive') ?? false;
  const create = validateBoolean(o.create, 'options.create');
  if (exclusive && create === false) {
    throw invalidArgValue('options.exclusive', exclusive, 'needs create: true (O_EXCL only applies with O_CREAT)');
  }
  return {
    create: create ?? true,
    exclusive,
    value: o.value === undefined ? 1 : validateInteger(o.value, 'options.value', 0, valueMax),
    mode: o.mode === undefined ? DEFAULT_MODE : validateMode(o.mode, 'options.mode'),
    retryOnEintr: validateBoolean(o.retryOnEintr, 'options.retryOnEintr') ?? false,
    debug: validateBoolean(o.debug, 'options.debug') ?? false,
    closeOnExit: validateBoolean(o.closeOnExit, 'options.closeOnExit') ?? true,
    releaseOnExit: validateBoolean(o.releaseOnExit, 'options.releaseOnExit') ?? false,
    robust: validateBoolean(o.robust, 'options.robust') ?? false,
    trust: { users: validateIds(o.trustedUsers, 'options.trustedUsers'), groups: validateIds(o.trustedGroups, 'options.trustedGroups') },
  };
}
