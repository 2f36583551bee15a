// Permission modes, one rule for the API (`mode: '0640'`) and the CLI
// (`create --mode 640`): chmod(1)'s, 1 to 4 octal digits read as octal, so
// '7' is 0007 and '600' is '0600'; at most 0777 (no setuid, setgid or
// sticky bit: they mean nothing for a semaphore).
import { invalidArgValue } from '../errors';
import { validateInteger } from './checks';

/** The largest mode: every permission bit, nothing above. */
export const MODE_MAX = 0o777;

/** The mode of a semaphore created without one: read and write for its owner only. */
export const DEFAULT_MODE = 0o600;

const OCTAL_DIGITS = /^[0-7]{1,4}$/;

/**
 * The mode that `text` spells (1 to 4 octal digits, as chmod(1) reads them),
 * or undefined when it spells none. The range (at most MODE_MAX) is the
 * caller's to check, so that each side can word its error.
 */
export function parseMode(text: string): number | undefined {
  return OCTAL_DIGITS.test(text) ? parseInt(text, 8) : undefined;
}

/** A permission mode like fs.open takes it: a number, or a string of octal digits ('0600'). */
export function validateMode(value: unknown, argument: string): number {
  if (typeof value === 'string') {
    const mode = parseMode(value);
    if (mode === undefined) throw invalidArgValue(argument, value, 'must be a string of octal digits like "0600"');
    value = mode;
  }
  return validateInteger(value, argument, 0, MODE_MAX);
}
