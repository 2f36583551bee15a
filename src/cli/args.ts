// The command line's arguments: what a command is, the options several
// commands share, and the checks of their values. Each failed check is bad
// usage (a UsageError: exit 2, with a hint to the help).
import type { ParseArgsConfig } from 'node:util';
import { MODE_MAX, normalizeName, parseMode, TIMEOUT_MAX } from '../validate';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** One command of the table in main.ts. */
export interface Command {
  /** Positionals and options, as the help shows them. */
  usage: string;
  /** One line for the command list. */
  summary: string;
  /** More about it, for `posix-semaphore COMMAND --help`. */
  description?: string;
  /** Its options, a line each, for the help. */
  optionHelp: string[];
  options: Options;
  /** How many positionals it takes (NAME). */
  positionals: number;
  run(positionals: string[], values: Values, command: string[]): Promise<number> | number;
}

/** Bad usage: exit 2, with a hint to the help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** -h/--help, which every command takes. */
export const help = { type: 'boolean', short: 'h' } as const;
export const quietOption = { quiet: { type: 'boolean', short: 'q' } } as const;
export const quietHelp = '-q, --quiet        print nothing on success (errors still go to stderr)';

/** The --trust-user and --trust-group options of the commands that open a semaphore. */
export const trustOptions = { 'trust-user': { type: 'string', multiple: true }, 'trust-group': { type: 'string', multiple: true } } as const;
export const trustHelp = [
  '--trust-user USER  open it even if USER (a name or uid) owns it; repeatable',
  '--trust-group GRP  open it even if group GRP (a name or gid) owns it; repeatable',
];

/** The trustedUsers and trustedGroups options of the constructor, from --trust-user and --trust-group. */
export function trusted(values: Values): { trustedUsers: Array<string | number>; trustedGroups: Array<string | number> } {
  const ids = (list: Values[string]): Array<string | number> =>
    (Array.isArray(list) ? list : []).map((id) => (/^[0-9]+$/.test(id) ? Number(id) : id));
  return { trustedUsers: ids(values['trust-user']), trustedGroups: ids(values['trust-group']) };
}

export function integerArg(text: string | undefined, flag: string, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a whole number, not '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, not ${text}`);
  return n;
}

/** Milliseconds: digits with an optional fraction, up to setTimeout's limit. */
export function timeoutArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`--timeout must be a number of milliseconds, not '${text}'`);
  const ms = Number(text);
  if (ms > TIMEOUT_MAX) throw new UsageError(`--timeout must be at most ${TIMEOUT_MAX} ms, not ${text}`);
  return ms;
}

/** --mode: the API's rule (validate/mode.ts), chmod(1)'s: 1 to 4 octal digits, at most 0777. */
export function modeArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const mode = parseMode(text);
  if (mode === undefined || mode > MODE_MAX) {
    throw new UsageError(`--mode must be octal permission bits like 0600 or 640 (1 to 4 octal digits, at most 0777), not '${text}'`);
  }
  return mode;
}

export function nameArg(text: string): string {
  try {
    return normalizeName(text);
  } catch (err) {
    throw new UsageError(`invalid semaphore name ${JSON.stringify(text)}: ${reason(err)}`);
  }
}

// "The argument 'name' must not contain ... Received ..." -> "must not contain ..."
function reason(err: unknown): string {
  const message = (err as Error).message;
  return message.replace(/^The argument '[^']*' /, '').replace(/\. Received .*$/, '');
}

// parseArgs' messages are written for programmers: keep what a user needs.
export function usageMessage(err: Error & { code?: string }, command: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(err.message);
  if (unknown) return `unknown option '${unknown[1]}' for '${command}'`;
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(err.message);
  if (missing) return `option '${missing[1]}' needs a value`;
  const ambiguous = /Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/.exec(err.message);
  if (ambiguous) return `option '${ambiguous[1]}' needs a value (one that starts with '-' goes as ${ambiguous[1]}=-N)`;
  const positional = /Unexpected argument '([^']*)'/.exec(err.message);
  if (positional) return `unexpected argument '${positional[1]}' for '${command}'`;
  return err.message;
}
