// list and info: the semaphores of this host, and all about one of them
// (its file, value, openers from /proc, robust holders).
import { statSync, Stats } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename } from 'node:path';
import { SemaphoreError } from '../errors';
import { Opener, openersOf, scanProc, unlinkedOpenersOf, unreadableNote } from '../system/proc';
import { semaphoreFile, SHM_DIR } from '../system/shm';
import { Command, help, nameArg, Values } from './args';
import { EXIT_OK, Failure, failureOf, out, printJson } from './output';
import { Description, describeAll, describeSemaphore, holdersOf, pathOf, shownValue } from './semaphores';

function list(_: string[], values: Values): number {
  const descriptions = describeAll('list', values.match as string | undefined).map((d) => d.description);
  if (values.json) {
    printJson(descriptions);
    return EXIT_OK;
  }
  if (descriptions.length === 0) return EXIT_OK;
  const rows = [['NAME', 'VALUE', 'MODE', 'OWNER'], ...descriptions.map((d) => [d.name, shownValue(d), d.mode ?? '', d.owner ?? ''])];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows)
    out(
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    );
  return EXIT_OK;
}

function info([text]: string[], values: Values): number {
  const name = nameArg(text);
  const path = pathOf(name);
  let stats: Stats | undefined;
  if (path !== undefined) {
    try {
      stats = statSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing(name);
      throw err;
    }
  }
  let description: Description;
  try {
    description = describeSemaphore(name, stats);
  } catch (err) {
    throw failureOf(err, name);
  }
  description.holders = holdersOf(name);
  const scan = stats === undefined ? undefined : scanProc();
  if (scan !== undefined && stats !== undefined) {
    description.openers = openersOf(scan, stats.dev, stats.ino);
    description.unlinked = unlinkedOpenersOf(scan, name, stats);
    description.unreadableProcesses = scan.unreadable;
  }
  if (values.json) {
    printJson(description);
    return EXIT_OK;
  }
  const lines: Array<[string, string | null]> = [
    ['name', description.name],
    ['value', shownValue(description)],
    ['mode', description.mode],
    ['owner', description.uid === null ? null : `${description.owner} (uid ${description.uid})`],
    ['group', description.gid === null ? null : `${description.group} (gid ${description.gid})`],
    ['size', description.size === null ? null : `${description.size} bytes`],
    ['modified', description.modified],
    ['path', description.path],
  ];
  for (const [key, value] of lines) if (value !== null) out(`${key.padEnd(8)}  ${value}`);
  if (description.openers !== undefined && scan !== undefined) printOpeners(description, scan);
  if (description.holders) {
    out(`holders   ${description.holders.length === 0 ? 'none (robust)' : `${description.holders.length} (robust)`}`);
    for (const h of description.holders) {
      out(`  pid ${h.pid}  ${h.units} unit${h.units === 1 ? '' : 's'}  ${h.alive ? 'alive' : 'dead'}${h.command ? `  ${h.command}` : ''}`);
    }
  }
  return EXIT_OK;
}

/** info's lines about the processes that have the semaphore open. */
function printOpeners(d: Description, scan: ReturnType<typeof scanProc>): void {
  const line = (o: Opener): string =>
    `  pid ${o.pid}  ${o.command ?? '?'}${o.deleted ? `  (deleted: maps ${o.path}, glibc's temporary name: it created the semaphore)` : ''}`;
  out(`openers   ${d.openers!.length}`);
  for (const o of d.openers!) out(line(o));
  const note = unreadableNote(scan);
  if (note !== undefined) out(`  (${note})`);
  for (const old of d.unlinked ?? []) {
    out(
      `unlinked  an older semaphore of this name (inode ${old.inode}), unlinked since, is still open in ${old.openers.length} process${old.openers.length === 1 ? '' : 'es'}:`,
    );
    for (const o of old.openers)
      out(line(o).replace(/ {2}\(deleted: maps .*$/, o.path.endsWith(`/${basename(semaphoreFile(d.name))}`) ? '' : '  (created it)'));
  }
}

/**
 * The failure of info NAME on a missing name; says which processes still
 * have an unlinked semaphore of that name open, if any do.
 */
function missing(name: string): unknown {
  const failure = failureOf(SemaphoreError.fromErrno(osConstants.errno.ENOENT, 'sem_open', name));
  if (!(failure instanceof Failure) || process.platform !== 'linux') return failure;
  const unlinked = unlinkedOpenersOf(scanProc(), name);
  if (unlinked.length > 0) {
    const pids = unlinked.flatMap((u) => u.openers.map((o) => o.pid));
    failure.message += `; it was unlinked while ${pids.length === 1 ? 'process' : 'processes'} ${pids.join(', ')} still ${pids.length === 1 ? 'has' : 'have'} it open`;
    failure.details.unlinked = unlinked;
  }
  return failure;
}

export const listCommand: Command = {
  usage: 'list [--match TEXT] [--json]',
  summary: `list the semaphores of this host (Linux: the sem.* files of ${SHM_DIR}) with their values`,
  description:
    'Each one is opened without creating it, read (sem_getvalue) and closed again. A value\n' +
    'shows as "?" when it cannot be read, such as another user\'s semaphore with mode 0600.',
  optionHelp: [
    '--match TEXT       only the semaphores whose name contains TEXT (as top)',
    '--json             an array of objects: name, path, value, mode, uid, owner, gid, group, size, modified',
  ],
  options: { match: { type: 'string' }, json: { type: 'boolean' }, help },
  positionals: 0,
  run: list,
};

export const infoCommand: Command = {
  usage: 'info NAME [--json]',
  summary: 'show the value, mode, owner and path of one semaphore, the processes that have it open, and its holders when robust',
  description:
    "Openers are found in /proc/PID/maps by the file's device and inode: the process that created\n" +
    'a semaphore maps it under glibc\'s temporary name, shown "(deleted)". Processes that still\n' +
    'have an older semaphore of this name open, unlinked since, are listed as "unlinked". Without\n' +
    "root, other users' processes cannot be read: info says how many it could not read.",
  optionHelp: [
    '--json             one object: name, path, value, mode, uid, owner, gid, group, size, modified, holders,',
    '                   openers [{pid, command, path, deleted}], unlinked [{inode, openers}], unreadableProcesses',
  ],
  options: { json: { type: 'boolean' }, help },
  positionals: 1,
  run: info,
};
