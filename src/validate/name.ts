// Names of POSIX semaphores: what sem_open accepts, checked before it runs.
import { invalidArgType, invalidArgValue } from '../errors';

/** Longest name, in UTF-8 bytes after the leading '/': /dev/shm/sem.NAME must fit NAME_MAX (255). */
export const NAME_MAX_BYTES = 251;

/**
 * Longest name on macOS, in bytes after the leading '/': its kernel refuses
 * (ENAMETOOLONG) a name that, with the '/' and the terminating NUL, is
 * longer than PSEMNAMLEN (31).
 */
export const DARWIN_NAME_MAX_BYTES = 29;

/**
 * On Windows a name is a kernel object name: 'jobs' lives in the session's
 * Local namespace, 'Global\\jobs' (Global\ then jobs) in the one every session shares (see
 * docs/platforms.md). A backslash elsewhere would name a namespace.
 */
export const WINDOWS_NAMESPACE = /^(Global|Local)\\/;

function checkWindowsName(bare: string, name: string, argument: string): void {
  const rest = bare.replace(WINDOWS_NAMESPACE, '');
  if (rest.length === 0) throw invalidArgValue(argument, name, 'must name a semaphore after its namespace');
  if (rest.includes('\\')) throw invalidArgValue(argument, name, 'must not contain "\\" on Windows except after a leading "Global" or "Local"');
}

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
    throw invalidArgValue(
      argument,
      name,
      `must be at most ${DARWIN_NAME_MAX_BYTES} bytes long after the "/" on macOS, whose limit (PSEMNAMLEN) is 31 with the "/" and the final NUL (it is ${bytes})`,
    );
  }
  if (Buffer.from(bare, 'utf8').toString('utf8') !== bare) throw invalidArgValue(argument, name, 'must be well-formed Unicode');
  if (process.platform === 'win32') checkWindowsName(bare, name, argument);
  return `/${bare}`;
}
