// What the command line prints, and how it ends: the exit statuses, the
// success lines that -q silences, --json output, and errors reworded for a
// shell user (a Failure), plain or as one JSON line on stderr.
import { SemaphoreError } from '../errors';
import { userName } from '../system/users';
import { UsageError } from './args';

export const PROGRAM = 'posix-semaphore';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_TIMEOUT = 124;

/** A failure with a message already fit for the user: exit with `status`. */
export class Failure extends Error {
  /** For --json: the error's code (ENOENT, ETIMEDOUT, ...) and anything more to say. */
  code = 'ERR_FAILURE';
  details: Record<string, unknown> = {};

  constructor(
    message: string,
    readonly status: number = EXIT_FAILURE,
    code?: string,
  ) {
    super(message);
    if (code !== undefined) this.code = code;
  }
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** -q/--quiet: no success chatter ("posted 3 to /jobs"), only errors. */
let quiet = false;

/** Sets -q/--quiet for the command that runs now (main() resets it for each). */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** A success line that -q/--quiet silences. */
export function say(line: string): void {
  if (!quiet) out(line);
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Permission bits as ls and chmod write them: '0640'. */
export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * A SemaphoreError as a Failure, reworded for a shell user where the API's
 * advice ("pass create: true") would not fit; any other error as it is.
 */
export function failureOf(err: unknown, name?: string): unknown {
  const failure = reworded(err, name);
  if (failure instanceof Failure && err instanceof SemaphoreError) {
    failure.code = err.code;
    failure.details.semaphore = err.semaphore ?? name;
  }
  return failure;
}

function reworded(err: unknown, name?: string): unknown {
  if (!(err instanceof SemaphoreError)) return err;
  const subject = `semaphore '${err.semaphore ?? name}'`;
  switch (err.code) {
    case 'ENOENT':
      return new Failure(
        `${subject} does not exist; create it with '${PROGRAM} create ${err.semaphore ?? name}' or check the name (${PROGRAM} list)`,
      );
    case 'EEXIST':
      return new Failure(`${subject} already exists; drop --exclusive to open it as it is`);
    case 'EACCES':
      return new Failure(`permission denied for ${subject}; check its mode and owner (${PROGRAM} info ${err.semaphore ?? name})`);
    case 'ERR_SEMAPHORE_UNTRUSTED': {
      const owner = userName(err.owner?.uid ?? -1);
      const self = process.geteuid?.() ?? -1;
      return new Failure(
        `${subject} belongs to user '${owner}' (uid ${err.owner?.uid}), not to you ('${userName(self)}', uid ${self})${self === 0 ? '' : ' or root'}, ` +
          `so that user could post it at will; pass --trust-user ${owner} if that user is trusted`,
      );
    }
    default:
      return new Failure(err.message);
  }
}

/** An error without --json: a line on stderr (and a hint to the help for bad usage); returns the exit status. */
export function printError(err: unknown, command: string | undefined): number {
  if (err instanceof UsageError) {
    const helpFor = err.command ?? command;
    process.stderr.write(`${PROGRAM}: ${err.message}\nTry '${PROGRAM} ${helpFor ? `${helpFor} ` : ''}--help'.\n`);
    return EXIT_USAGE;
  }
  const failure = failureOf(err);
  if (failure instanceof Failure) {
    process.stderr.write(`${PROGRAM}: ${failure.message}\n`);
    return failure.status;
  }
  const error = err as NodeJS.ErrnoException;
  process.stderr.write(`${PROGRAM}: ${error.code ? `${error.message}` : String(error.stack ?? error)}\n`);
  return EXIT_FAILURE;
}

/**
 * An error under --json: one line on stderr, `{"error": {"code", "message",
 * "status", "semaphore", ...}}` (stdout stays empty, as for any failure);
 * returns the exit status, the same as without --json. Every error has
 * those four fields, whatever its code: `semaphore` is the name concerned
 * (`subject`, the command's NAME, when the error does not say), or null.
 */
export function printJsonError(err: unknown, command: string | undefined, subject?: string): number {
  let error: Record<string, unknown>;
  if (err instanceof UsageError) {
    error = {
      code: 'ERR_USAGE',
      message: err.message,
      status: EXIT_USAGE,
      help: `${PROGRAM} ${err.command ?? command ?? ''} --help`.replace('  ', ' '),
    };
  } else {
    const failure = failureOf(err);
    if (failure instanceof Failure) {
      error = { code: failure.code, message: failure.message, status: failure.status, ...failure.details };
    } else {
      const e = err as NodeJS.ErrnoException;
      error = { code: e.code ?? 'ERR_FAILURE', message: e.code ? e.message : String(e.stack ?? e), status: EXIT_FAILURE };
    }
  }
  const { code, message, status, semaphore, ...more } = error;
  process.stderr.write(`${JSON.stringify({ error: { code, message, status, semaphore: semaphore ?? subject ?? null, ...more } })}\n`);
  return status as number;
}
