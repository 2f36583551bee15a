import { constants as osConstants } from 'node:os';
import { semaphoreFile } from './system/shm';

/**
 * The codes a {@link SemaphoreError} carries: errno names from the system
 * calls, `ERR_SEMAPHORE_CLOSED`, and the Redis ones (posix-semaphore/redis).
 * Any other errno name may still come from the system, hence `string`.
 */
export type SemaphoreErrorCode =
  | 'EAGAIN'
  | 'ETIMEDOUT'
  | 'EINTR'
  | 'ENOENT'
  | 'EEXIST'
  | 'EACCES'
  | 'EOVERFLOW'
  | 'EINVAL'
  | 'EMFILE'
  | 'ENFILE'
  | 'ENOMEM'
  | 'ENOSPC'
  | 'ENAMETOOLONG'
  | 'ENOSYS'
  /** robust: the semaphore's ledger was truncated under this process, and robust ownership is lost. */
  | 'ENOTRECOVERABLE'
  | 'ERR_SEMAPHORE_CLOSED'
  /** An existing semaphore owned by a user this process does not trust (`owner` says who). */
  | 'ERR_SEMAPHORE_UNTRUSTED'
  /** posix-semaphore/redis: Redis failed or cannot be reached (`cause` has the client's error). */
  | 'ERR_SEMAPHORE_REDIS'
  /** posix-semaphore/redis: release() by an instance that holds no unit. */
  | 'ERR_SEMAPHORE_NOT_HELD'
  /** posix-semaphore/redis: a held unit's lease was lost (the 'lost' event, release()). */
  | 'ERR_SEMAPHORE_LEASE_LOST'
  | (string & {});

// Errno names that os.constants.errno lacks, by platform.
const missingNames: Record<string, Record<string, number>> = {
  linux: { ENOTRECOVERABLE: 131 },
  darwin: { ENOTRECOVERABLE: 104 },
};
const errnos: Record<string, number> = { ...(missingNames[process.platform] ?? {}), ...osConstants.errno };

// First name wins where two share a number (EAGAIN, not EWOULDBLOCK).
const errnoNames = new Map<number, string>();
for (const [code, errno] of Object.entries(errnos)) {
  if (!errnoNames.has(errno)) errnoNames.set(errno, code);
}

/** The errno name of a number, as C's `strerrorname_np` gives it (`2` → `'ENOENT'`). */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** errno value of a name (`'ETIMEDOUT'` → 110 on Linux). */
export function errnoOf(code: string): number {
  return errnos[code];
}

// What a person can do about each failure, by syscall and code.
function explain(code: string, syscall: string | undefined, name: string | undefined): string {
  const subject = name === undefined ? 'semaphore' : `semaphore '${name}'`;
  switch (code) {
    case 'ENOENT':
      return syscall === 'sem_unlink'
        ? `${subject} does not exist (already unlinked, or never created); check the name`
        : `${subject} does not exist; pass create: true or check the name`;
    case 'EEXIST':
      return `${subject} already exists; drop exclusive: true to open it`;
    case 'EACCES':
      return `permission denied for ${subject}; check its mode and owner (ls -l /dev/shm)`;
    case 'EAGAIN':
      return `${subject} is taken (its value is 0)`;
    case 'ETIMEDOUT':
      return `timed out waiting for ${subject}`;
    case 'EINTR':
      return `wait on ${subject} was interrupted by a signal; pass retryOnEintr: true to keep waiting`;
    case 'EOVERFLOW':
      return `${subject} is at its maximum value; post() would overflow it`;
    case 'EINVAL':
      return syscall === 'sem_open'
        ? `cannot open ${subject}: ${name === undefined ? 'its file' : semaphoreFile(name)} is not a semaphore ` +
            `(too short, or not a process-shared semaphore of this C library); remove it if nothing uses it`
        : `${subject} is not a valid semaphore`;
    case 'EMFILE':
      return `too many open files in this process; close some handles (ulimit -n)`;
    case 'ENFILE':
      return `too many open files on this system`;
    case 'ENOMEM':
    case 'ENOSPC':
      return `not enough shared memory to create ${subject} (is /dev/shm full?)`;
    case 'ENAMETOOLONG':
      return `the name of ${subject} is too long`;
    case 'ENOSYS':
      return `${syscall ?? 'this call'} is not supported on this platform`;
    case 'ENOTRECOVERABLE':
      return (
        `the robust ledger of ${subject} was truncated by another process, so the units this process holds can no longer ` +
        `come back if it dies: nothing more is taken through it (posts still work); close every handle of it and remove ` +
        `the ledger when nothing holds the semaphore`
      );
    case 'ERR_SEMAPHORE_CLOSED':
      return `${subject} is closed`;
    default:
      return `${syscall ?? 'operation'} on ${subject} failed`;
  }
}

/**
 * A failure of the system, or use of a closed handle.
 *
 * `code` is the errno name (`'ENOENT'`, `'EAGAIN'`, `'ETIMEDOUT'`, ...) or
 * `'ERR_SEMAPHORE_CLOSED'` (use after close) or `'ERR_SEMAPHORE_UNTRUSTED'`
 * (an existing semaphore owned by another user; see `owner`); `errno` the
 * positive C errno value; `syscall` the call that failed (`'sem_open'`,
 * `'sem_trywait'`, ...); `semaphore` the normalised name of the semaphore.
 *
 * @example
 * try { sem.tryWait() } catch (err) {
 *   if (err instanceof SemaphoreError && err.code === 'EAGAIN') { ... }
 * }
 */
export class SemaphoreError extends Error {
  readonly code: SemaphoreErrorCode;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  readonly semaphore: string | undefined;
  /** With `ERR_SEMAPHORE_UNTRUSTED`: who owns the semaphore's file. */
  readonly owner?: { uid: number; gid: number };

  constructor(
    code: SemaphoreErrorCode,
    options: {
      errno?: number;
      syscall?: string;
      semaphore?: string;
      message?: string;
      cause?: unknown;
      owner?: { uid: number; gid: number };
    } = {},
  ) {
    const { errno, syscall, semaphore } = options;
    const message = options.message ?? explain(code, syscall, semaphore);
    super(`${message} (${syscall ? `${syscall}: ` : ''}${code})`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.semaphore = semaphore;
    if (options.owner !== undefined) this.owner = options.owner;
  }

  override get name(): string {
    return 'SemaphoreError';
  }

  /** The error for an errno returned by the native layer. */
  static fromErrno(errno: number, syscall: string, semaphore?: string): SemaphoreError {
    return new SemaphoreError(errnoName(errno), { errno, syscall, semaphore });
  }

  /** The error for use of a closed handle. */
  static closed(semaphore: string, syscall?: string): SemaphoreError {
    return new SemaphoreError('ERR_SEMAPHORE_CLOSED', { semaphore, syscall });
  }
}

/** Like the AbortError of Node's own APIs: `name` 'AbortError', `code` 'ABORT_ERR', `cause` the signal's reason. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';

  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }

  override get name(): string {
    return 'AbortError';
  }
}

// Node's own argument errors (ERR_INVALID_ARG_TYPE, ...), thrown before any syscall.
type NodeErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

function withCode<E extends Error>(error: E, code: NodeErrorCode): E & { code: NodeErrorCode } {
  return Object.assign(error, { code });
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = value.constructor?.name;
    return ctor ? `an instance of ${ctor}` : 'an object';
  }
  let shown;
  if (typeof value === 'string') shown = JSON.stringify(value);
  else if (typeof value === 'symbol') shown = value.toString();
  else shown = `${value as number | bigint | boolean}`;
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  let shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  if (shown.length > 40) shown = `${shown.slice(0, 37)}...`;
  return withCode(new TypeError(`The argument '${name}' ${reason}. Received ${shown}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(value)}`), 'ERR_OUT_OF_RANGE');
}
