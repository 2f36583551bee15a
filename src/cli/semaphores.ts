// The semaphores as the commands see them: opened with errors reworded,
// read, and described (the stat of their file, their value, their robust
// holders) for list, info, top and recover.
import { readdirSync, statSync, Stats } from 'node:fs';
import { constants, native } from '../binding';
import { errnoName, errnoOf, SemaphoreError } from '../errors';
import { nativeHandleOf, Semaphore } from '../semaphore';
import type { Opener } from '../system/proc';
import { commandLine } from '../system/proc';
import { ledgerFile, semaphoreFile, semaphoreOfFile, SHM_DIR } from '../system/shm';
import { groupName, userName } from '../system/users';
import { EXIT_FAILURE, failureOf, Failure, octal } from './output';

export interface Description {
  name: string;
  path: string | null;
  value: number | null;
  /** Why the value is null: 'EACCES', 'ENOSYS', ... */
  error?: string;
  mode: string | null;
  uid: number | null;
  owner: string | null;
  gid: number | null;
  group: string | null;
  size: number | null;
  modified: string | null;
  /** robust semaphores: who holds units, from the ledger; null when there is no ledger. */
  holders?: Holder[] | null;
  /** info (Linux): the processes that have it open, found in /proc/PID/maps by device and inode. */
  openers?: Opener[];
  /** info (Linux): older semaphores of this name, unlinked since, that processes still have open. */
  unlinked?: Array<{ inode: number; openers: Opener[] }>;
  /** info (Linux): how many processes' maps could not be read (other users', without root). */
  unreadableProcesses?: number;
}

export interface Holder {
  pid: number;
  units: number;
  alive: boolean;
  /** Its command line, when /proc can tell. */
  command: string | null;
}

/** The file behind a semaphore, where the platform has one (Linux: /dev/shm/sem.NAME). */
export function pathOf(name: string): string | undefined {
  return process.platform === 'linux' ? semaphoreFile(name) : undefined;
}

/** new Semaphore(), its failure reworded for the shell. */
export function open(name: string, options: ConstructorParameters<typeof Semaphore>[1]): Semaphore {
  try {
    return new Semaphore(name, options);
  } catch (err) {
    throw failureOf(err, name);
  }
}

/**
 * Posts back the units that dead holders recorded in the robust ledger of
 * `sem`'s semaphore; returns how many this call posted.
 */
export function recoverThrough(sem: Semaphore): number {
  const posted = native.recover(nativeHandleOf(sem));
  if (posted < 0) throw failureOf(SemaphoreError.fromErrno(-posted, 'open', sem.name), sem.name);
  return posted;
}

/** The value, or undefined where the platform cannot tell (macOS: ENOSYS). */
export function valueOf(sem: Semaphore): number | undefined {
  try {
    return sem.value;
  } catch (err) {
    if (err instanceof SemaphoreError && err.code === 'ENOSYS') return undefined;
    throw failureOf(err, sem.name);
  }
}

/**
 * What there is to know about a semaphore: the stat of its file and its
 * value, read through a handle opened with create: false and closed again.
 */
export function describeSemaphore(name: string, stats: Stats | undefined): Description {
  const description: Description = {
    name,
    path: pathOf(name) ?? null,
    value: null,
    mode: stats ? octal(stats.mode) : null,
    uid: stats ? stats.uid : null,
    owner: stats ? userName(stats.uid) : null,
    gid: stats ? stats.gid : null,
    group: stats ? groupName(stats.gid) : null,
    size: stats ? stats.size : null,
    modified: stats ? stats.mtime.toISOString() : null,
  };
  if (stats !== undefined && (!stats.isFile() || stats.size < constants.SEM_SIZE)) {
    description.error = 'EINVAL';
    return description;
  }
  let sem: Semaphore;
  try {
    // Reading the value is harmless whoever owns it.
    sem = new Semaphore(name, { create: false, trustedUsers: stats ? [stats.uid] : [] });
  } catch (err) {
    if (err instanceof SemaphoreError && err.code !== 'ENOENT') {
      description.error = err.code;
      return description;
    }
    throw err;
  }
  try {
    description.value = sem.value;
  } catch (err) {
    if (!(err instanceof SemaphoreError)) throw err;
    description.error = err.code;
  } finally {
    sem.close();
  }
  return description;
}

/** The value as list, info and top show it: the number, or "?" with why. */
export function shownValue(d: Description): string {
  if (d.value !== null) return String(d.value);
  switch (d.error) {
    case 'EACCES':
      return '? (permission denied)';
    case 'ENOSYS':
      return '? (not available on this platform)';
    case 'EINVAL':
      return '? (not a semaphore)';
    default:
      return `? (${d.error})`;
  }
}

/** Why list and top cannot run here. */
export function needsLinux(command: string): string {
  const why = process.platform === 'win32' ? '; Windows has no documented call that lists named semaphores' : '';
  return `${command} needs Linux, where named semaphores are the sem.* files of ${SHM_DIR}${why}`;
}

/** Every semaphore of the host (Linux: the sem.* files of /dev/shm), described, by name. */
export function describeAll(command: string, match?: string): Array<{ description: Description; stats: Stats }> {
  if (process.platform !== 'linux') throw new Failure(needsLinux(command));
  const all: Array<{ description: Description; stats: Stats }> = [];
  for (const file of readdirSync(SHM_DIR).sort()) {
    const name = semaphoreOfFile(file);
    if (name === undefined || (match !== undefined && !name.includes(match))) continue;
    try {
      const stats = statSync(semaphoreFile(name));
      all.push({ description: describeSemaphore(name, stats), stats });
    } catch (err) {
      // Unlinked between readdir and open: it is not there any more.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
  }
  return all;
}

/**
 * The holders in a robust semaphore's ledger (none recovered), of the
 * semaphore that the name names now (a ledger may outlive an earlier
 * semaphore of the name); null without a ledger.
 * @throws Failure (code EINVAL) when the ledger is corrupt: not a regular file of a ledger's size and magic.
 */
export function holdersOf(name: string): Holder[] | null {
  const found = native.ledgerHolders(name);
  if (found === -errnoOf('ENOENT')) return null;
  if (typeof found === 'number') {
    const code = errnoName(-found);
    const why = code === 'EINVAL' ? "is corrupt (not a regular file of a ledger's size and magic)" : `cannot be read (${code})`;
    throw new Failure(
      `the robust ledger of ${name}, ${ledgerFile(name)}, ${why}; remove it when nothing holds the semaphore robustly (robust opens fail until then)`,
      EXIT_FAILURE,
      code,
    );
  }
  return found.map(([pid, units, alive]) => ({ pid, units, alive, command: alive ? commandLine(pid) : null }));
}
