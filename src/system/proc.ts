// What /proc says (Linux), for the CLI: which processes have a semaphore
// open, their command lines, their process groups.
//
// Which processes have a semaphore open: every process that has it
// open maps its file, so /proc/PID/maps lists it with the file's device and
// inode. The path there is not enough: glibc creates a semaphore under a
// temporary name, links it to the real one and unlinks the temporary name,
// so the process that created it maps "/dev/shm/sem.XXXXXX (deleted)"; and a
// name unlinked since shows as "/dev/shm/sem.NAME (deleted)".
import { readdirSync, readFileSync } from 'node:fs';
import { semaphoreFile, SHM_DIR } from './shm';

const SHM_PREFIX = `${SHM_DIR}/`;
const DELETED = ' (deleted)';

/** One process's mapping of a file of /dev/shm. */
export interface ShmMapping {
  pid: number;
  /** The device, as /proc/PID/maps writes it: major:minor in hex ("00:1a"). */
  device: string;
  inode: number;
  /** The path as the kernel shows it, without " (deleted)". */
  path: string;
  /** The path has no name any more: glibc's temporary name (a creator), or a name unlinked since. */
  deleted: boolean;
}

/** What a scan of /proc found. */
export interface ProcScan {
  /** The mappings of files of /dev/shm, one per process and file. */
  mappings: ShmMapping[];
  /** How many processes' maps could not be read (another user's, without root: EACCES). */
  unreadable: number;
  /** How many processes were scanned. */
  scanned: number;
}

/** A process that has a semaphore open. */
export interface Opener {
  pid: number;
  /** Its command line, when /proc can tell. */
  command: string | null;
  /** The path its mapping shows. */
  path: string;
  /** true when that path has no name any more (see ShmMapping.deleted). */
  deleted: boolean;
}

/**
 * Reads /proc/PID/maps of every process and keeps the mappings of /dev/shm
 * files (`exceptPid`, this process, left out). Processes that end meanwhile
 * are skipped; those that cannot be read (EACCES, EPERM) are counted.
 */
export function scanProc(exceptPid: number = process.pid): ProcScan {
  const scan: ProcScan = { mappings: [], unreadable: 0, scanned: 0 };
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return scan;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === exceptPid) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/maps`, 'latin1');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') scan.unreadable++;
      continue; // ENOENT, ESRCH: it ended meanwhile
    }
    scan.scanned++;
    const seen = new Set<string>();
    // Only the lines that name a file of /dev/shm, without splitting the rest.
    for (let at = text.indexOf(SHM_PREFIX); at !== -1; at = text.indexOf(SHM_PREFIX, at + 1)) {
      const start = text.lastIndexOf('\n', at) + 1;
      let end = text.indexOf('\n', at);
      if (end === -1) end = text.length;
      const mapping = parseLine(pid, text.slice(start, end));
      at = end;
      if (mapping === undefined) continue;
      const key = `${mapping.device} ${mapping.inode}`;
      if (seen.has(key)) continue;
      seen.add(key);
      scan.mappings.push(mapping);
    }
  }
  return scan;
}

// "7fec8cc25000-7fec8cc26000 rw-s 00000000 00:1a 134685      /dev/shm/sem.Zzphl4 (deleted)"
function parseLine(pid: number, line: string): ShmMapping | undefined {
  const match = /^\S+\s+\S+\s+\S+\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s+(\/dev\/shm\/.*)$/.exec(line);
  if (match === null) return undefined;
  let path = match[3];
  const deleted = path.endsWith(DELETED);
  if (deleted) path = path.slice(0, -DELETED.length);
  return { pid, device: match[1], inode: Number(match[2]), path, deleted };
}

/** A stat's st_dev as /proc/PID/maps writes it: major:minor in hex, at least two digits each. */
export function deviceOf(dev: number): string {
  // glibc's gnu_dev_major/minor, on a number that may exceed 32 bits.
  const high = Math.floor(dev / 2 ** 32);
  const low = dev >>> 0;
  const major = ((low >>> 8) & 0xfff) | (high & ~0xfff);
  const minor = (low & 0xff) | ((low >>> 12) & ~0xff);
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(2, '0');
  return `${hex(major)}:${hex(minor)}`;
}

/** The processes of `scan` that map the file (device `dev`, inode `ino`): the semaphore's openers. */
export function openersOf(scan: ProcScan, dev: number, ino: number): Opener[] {
  const device = deviceOf(dev);
  return scan.mappings
    .filter((m) => m.inode === ino && m.device === device)
    .map((m) => ({ pid: m.pid, command: commandLine(m.pid), path: m.path, deleted: m.deleted }));
}

/**
 * Processes that have open a semaphore that was named `name` and has been
 * unlinked since (it may be another one than the one the name now gives, or
 * the name may be gone): those that opened it by that name, and those that
 * map the same file under glibc's temporary name (its creator). Grouped by
 * file, each group [inode, openers]; the inode `except` (the current file) left out.
 */
export function unlinkedOpenersOf(scan: ProcScan, name: string, except?: { dev: number; ino: number }): Array<{ inode: number; openers: Opener[] }> {
  const path = semaphoreFile(name);
  const exceptDevice = except === undefined ? undefined : deviceOf(except.dev);
  const files = new Map<string, number>();
  for (const m of scan.mappings) {
    if (m.deleted && m.path === path && !(m.inode === except?.ino && m.device === exceptDevice)) files.set(`${m.device} ${m.inode}`, m.inode);
  }
  return [...files].map(([key, inode]) => ({
    inode,
    openers: scan.mappings
      .filter((m) => `${m.device} ${m.inode}` === key)
      .map((m) => ({ pid: m.pid, command: commandLine(m.pid), path: m.path, deleted: m.deleted })),
  }));
}

/** A process's command line from /proc/PID/cmdline, arguments joined by spaces, control characters as spaces; null when it cannot be read. */
export function commandLine(pid: number): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // Control characters (a newline, an escape sequence set as argv) would garble a terminal.
    return (
      text
        .split('\0')
        .filter(Boolean)
        .join(' ')
        // eslint-disable-next-line no-control-regex -- control characters are what this removes
        .replace(/[\x00-\x1f\x7f]/g, ' ') || null
    );
  } catch {
    return null;
  }
}

/** "3 processes could not be read: run as root to see them", or undefined when all could. */
export function unreadableNote(scan: ProcScan): string | undefined {
  if (scan.unreadable === 0) return undefined;
  const root = process.geteuid?.() === 0;
  return `${scan.unreadable} process${scan.unreadable === 1 ? '' : 'es'} could not be read${root ? '' : " (other users')"}: ${root ? 'their /proc maps are closed even to root' : 'run as root to see them'}`;
}

/** Fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, tty_nr, tpgid. */
export function procStat(pid: number | 'self'): { pgrp: number; tpgid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(fields[2]), tpgid: Number(fields[5]) };
  } catch {
    return undefined;
  }
}
