#!/usr/bin/env node
// The `posix-semaphore` command: inspect and operate named semaphores from a
// shell, and hold one while a command runs (like flock(1)). Exit codes are
// part of the interface: 0 ok, 1 failure, 2 bad usage, 124 timeout, and the
// command's own status for `run`.
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, Stats } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { SemaphoreError } from './errors';
import { groupName, userName } from './users';
import { Semaphore } from './semaphore';
import { normalizeName, TIMEOUT_MAX } from './validate';
import { constants, native } from './binding';
import { commandLine, Opener, openersOf, scanProc, unlinkedOpenersOf, unreadableNote } from './cli/openers';

const PROGRAM = 'posix-semaphore';
const SHM_DIR = '/dev/shm';
/** Smaller than a glibc sem_t: not a semaphore, and mapping it would fault (SIGBUS). */
const SEM_T_SIZE = 32;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_TIMEOUT = 124;

/** Bad usage: exit 2, with a hint to the help. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A failure with a message already fit for the user: exit with `status`. */
class Failure extends Error {
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

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
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

// ---------------------------------------------------------------------------
// Argument checks: each failure is bad usage (exit 2).

function integerArg(text: string | undefined, flag: string, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a whole number, not '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, not ${text}`);
  return n;
}

/** Milliseconds: digits with an optional fraction, up to setTimeout's limit. */
function timeoutArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`--timeout must be a number of milliseconds, not '${text}'`);
  const ms = Number(text);
  if (ms > TIMEOUT_MAX) throw new UsageError(`--timeout must be at most ${TIMEOUT_MAX} ms, not ${text}`);
  return ms;
}

function modeArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^0?[0-7]{3}$/.test(text)) throw new UsageError(`--mode must be octal permission bits like 0600 or 640, not '${text}'`);
  return parseInt(text, 8);
}

function nameArg(text: string): string {
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

// ---------------------------------------------------------------------------
// Output helpers.

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** -q/--quiet: no success chatter ("posted 3 to /jobs"), only errors. */
let quiet = false;

/** A success line that -q/--quiet silences. */
function say(line: string): void {
  if (!quiet) out(line);
}

function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The file behind a semaphore, where the platform has one (Linux: /dev/shm/sem.NAME). */
function pathOf(name: string): string | undefined {
  return process.platform === 'linux' ? join(SHM_DIR, `sem.${name.slice(1)}`) : undefined;
}

/**
 * A SemaphoreError as a Failure, reworded for a shell user where the API's
 * advice ("pass create: true") would not fit; any other error as it is.
 */
function failureOf(err: unknown, name?: string): unknown {
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
      return new Failure(`${subject} does not exist; create it with '${PROGRAM} create ${err.semaphore ?? name}' or check the name (${PROGRAM} list)`);
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

/** The --trust-user and --trust-group options of the commands that open a semaphore. */
const trustOptions = { 'trust-user': { type: 'string', multiple: true }, 'trust-group': { type: 'string', multiple: true } } as const;
const trustHelp = [
  '--trust-user USER  open it even if USER (a name or uid) owns it; repeatable',
  '--trust-group GRP  open it even if group GRP (a name or gid) owns it; repeatable',
];

function trusted(values: Values): { trustedUsers: Array<string | number>; trustedGroups: Array<string | number> } {
  const ids = (list: Values[string]): Array<string | number> =>
    (Array.isArray(list) ? list : []).map((id) => (/^[0-9]+$/.test(id) ? Number(id) : id));
  return { trustedUsers: ids(values['trust-user']), trustedGroups: ids(values['trust-group']) };
}

function open(name: string, options: ConstructorParameters<typeof Semaphore>[1]): Semaphore {
  try {
    return new Semaphore(name, options);
  } catch (err) {
    throw failureOf(err, name);
  }
}

/** The value, or undefined where the platform cannot tell (macOS: ENOSYS). */
function valueOf(sem: Semaphore): number | undefined {
  try {
    return sem.value;
  } catch (err) {
    if (err instanceof SemaphoreError && err.code === 'ENOSYS') return undefined;
    throw failureOf(err, sem.name);
  }
}

// ---------------------------------------------------------------------------
// list and info

interface Description {
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

interface Holder {
  pid: number;
  units: number;
  alive: boolean;
  /** Its command line, when /proc can tell. */
  command: string | null;
}

/**
 * What there is to know about a semaphore: the stat of its file and its
 * value, read through a handle opened with create: false and closed again.
 */
function describeSemaphore(name: string, stats: Stats | undefined): Description {
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
  if (stats !== undefined && (!stats.isFile() || stats.size < SEM_T_SIZE)) {
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

function shownValue(d: Description): string {
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

/** Every semaphore of the host (Linux: the sem.* files of /dev/shm), described, by name. */
function describeAll(command: string): Array<{ description: Description; stats: Stats }> {
  if (process.platform !== 'linux') {
    throw new Failure(`${command} needs Linux, where named semaphores are the sem.* files of ${SHM_DIR}`);
  }
  const all: Array<{ description: Description; stats: Stats }> = [];
  for (const file of readdirSync(SHM_DIR).sort()) {
    if (!file.startsWith('sem.') || file.length === 4) continue;
    const name = `/${file.slice(4)}`;
    try {
      const stats = statSync(join(SHM_DIR, file));
      all.push({ description: describeSemaphore(name, stats), stats });
    } catch (err) {
      // Unlinked between readdir and open: it is not there any more.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
  }
  return all;
}

function list(_: string[], values: Values): number {
  const descriptions = describeAll('list').map((d) => d.description);
  if (values.json) {
    printJson(descriptions);
    return EXIT_OK;
  }
  if (descriptions.length === 0) return EXIT_OK;
  const rows = [['NAME', 'VALUE', 'MODE', 'OWNER'], ...descriptions.map((d) => [d.name, shownValue(d), d.mode ?? '', d.owner ?? ''])];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) out(row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
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
    out(`unlinked  an older semaphore of this name (inode ${old.inode}), unlinked since, is still open in ${old.openers.length} process${old.openers.length === 1 ? '' : 'es'}:`);
    for (const o of old.openers) out(line(o).replace(/  \(deleted: maps .*$/, o.path.endsWith(`/sem.${d.name.slice(1)}`) ? '' : '  (created it)'));
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

/** The holders in a robust semaphore's ledger (none recovered); null without a ledger. */
function holdersOf(name: string): Holder[] | null {
  const found = native.ledgerHolders(name);
  if (typeof found === 'number') return null;
  return found.map(([pid, units, alive]) => ({ pid, units, alive, command: alive ? commandLine(pid) : null }));
}

// ---------------------------------------------------------------------------
// recover

function recover([text]: string[], values: Values): number {
  const name = nameArg(text);
  const before = holdersOf(name);
  if (before === null) throw new Failure(`semaphore '${name}' has no robust ledger: only units taken through robust: true handles can be recovered; '${PROGRAM} post ${name}' gives back a unit by hand`);
  // Opening a robust handle recovers every dead holder's units.
  const sem = open(name, { create: false, robust: true, ...trusted(values) });
  try {
    const dead = before.filter((h) => !h.alive && h.units > 0);
    const units = dead.reduce((sum, h) => sum + h.units, 0);
    const now = valueOf(sem);
    if (values.json) {
      printJson({ name, recovered: units, from: dead.map((h) => h.pid), value: now ?? null });
    } else if (units === 0) {
      say(`nothing to recover in ${name}: no dead holder held units${now === undefined ? '' : `; value ${now}`}`);
    } else {
      say(`recovered ${units} unit${units === 1 ? '' : 's'} of ${name} from dead pid ${dead.map((h) => h.pid).join(', ')}${now === undefined ? '' : `; value now ${now}`}`);
    }
  } finally {
    sem.close();
  }
  return EXIT_OK;
}

// ---------------------------------------------------------------------------
// create, post, wait, unlink

function create([text]: string[], values: Values): number {
  const name = nameArg(text);
  const value = integerArg(values.value as string | undefined, '--value', 0, constants.SEM_VALUE_MAX, 1);
  const mode = modeArg(values.mode as string | undefined);
  const sem = open(name, { create: true, exclusive: values.exclusive === true, value, mode: mode ?? 0o600, ...trusted(values) });
  try {
    const path = pathOf(name);
    // Like mkdir -m: the mode asked for, not the mode the umask leaves.
    if (sem.created && mode !== undefined && path !== undefined) chmodSync(path, mode);
    if (sem.created) {
      const shownMode = octal(mode ?? statMode(path) ?? 0o600);
      if (values.json) printJson({ name, created: true, value, mode: shownMode });
      else say(`created ${name} with value ${value}, mode ${shownMode}`);
    } else {
      const now = valueOf(sem);
      if (values.json) printJson({ name, created: false, value: now ?? null });
      else say(`${name} exists already${now === undefined ? '' : ` with value ${now}`}; left as it is`);
    }
  } finally {
    sem.close();
  }
  return EXIT_OK;
}

function statMode(path: string | undefined): number | undefined {
  return path === undefined ? undefined : statSync(path).mode;
}

function post([text]: string[], values: Values): number {
  const name = nameArg(text);
  const count = integerArg(values.count as string | undefined, '--count', 1, constants.SEM_VALUE_MAX, 1);
  const sem = open(name, { create: false, ...trusted(values) });
  try {
    for (let posted = 0; posted < count; posted++) {
      try {
        sem.post();
      } catch (err) {
        const failure = failureOf(err, name);
        if (failure instanceof Failure && posted > 0) failure.message += ` (after posting ${posted} of ${count})`;
        throw failure;
      }
    }
    const now = valueOf(sem);
    if (values.json) printJson({ name, posted: count, value: now ?? null });
    else say(`posted ${count} to ${name}${now === undefined ? '' : `; value now ${now}`}`);
  } finally {
    sem.close();
  }
  return EXIT_OK;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

function signalStatus(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/**
 * acquire() with the timeout asked for, abandoned cleanly (holding nothing)
 * when SIGINT, SIGTERM or SIGHUP arrives while it waits.
 * Returns the signal that interrupted it, if any.
 */
async function acquireInterruptibly(sem: Semaphore, timeout: number | undefined): Promise<ForwardedSignal | undefined> {
  const controller = new AbortController();
  let interruptedBy: ForwardedSignal | undefined;
  const onSignal = (signal: ForwardedSignal): void => {
    interruptedBy ??= signal;
    controller.abort();
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    await sem.acquire({ timeout, signal: controller.signal });
  } catch (err) {
    if (interruptedBy !== undefined) return interruptedBy;
    if (err instanceof SemaphoreError && err.code === 'ETIMEDOUT') {
      const message = timeout === 0 ? `semaphore '${sem.name}' is taken (its value is 0)` : `timed out after ${timeout} ms waiting for semaphore '${sem.name}'`;
      throw new Failure(message, EXIT_TIMEOUT, timeout === 0 ? 'EAGAIN' : 'ETIMEDOUT');
    }
    throw failureOf(err, sem.name);
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, onSignal);
  }
  if (interruptedBy !== undefined) {
    // The signal came in the instant the unit was granted: give it back.
    sem.release();
    return interruptedBy;
  }
  return undefined;
}

async function wait([text]: string[], values: Values): Promise<number> {
  const name = nameArg(text);
  const timeout = timeoutArg(values.timeout as string | undefined);
  const sem = open(name, { create: false, ...trusted(values) });
  try {
    const signal = await acquireInterruptibly(sem, timeout);
    if (signal !== undefined) return signalStatus(signal);
    const now = valueOf(sem);
    if (values.json) printJson({ name, took: 1, value: now ?? null });
    else say(`took 1 from ${name}${now === undefined ? '' : `; value now ${now}`}`);
  } finally {
    sem.close();
  }
  return EXIT_OK;
}

function unlink([text]: string[], values: Values): number {
  const name = nameArg(text);
  try {
    Semaphore.unlink(name);
  } catch (err) {
    throw failureOf(err, name);
  }
  if (values.json) printJson({ name, unlinked: true });
  else say(`unlinked ${name}`);
  return EXIT_OK;
}

// ---------------------------------------------------------------------------
// run: hold the semaphore while a command runs.

/** Fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, tty_nr, tpgid. */
function procStat(pid: number | 'self'): { pgrp: number; tpgid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(fields[2]), tpgid: Number(fields[5]) };
  } catch {
    return undefined;
  }
}

/**
 * true when the terminal already sent `signal` to the command: SIGINT (Ctrl-C)
 * and SIGHUP go to the whole foreground process group, which the command
 * shares with us. Forwarding it again would deliver it twice, and many
 * programs take a second Ctrl-C as "quit now, skip the clean-up".
 */
function terminalDelivered(signal: ForwardedSignal, childPid: number): boolean {
  if (signal === 'SIGTERM' || process.platform !== 'linux') return false;
  const self = procStat('self');
  const child = procStat(childPid);
  return self !== undefined && child !== undefined && self.tpgid > 0 && self.tpgid === self.pgrp && child.pgrp === self.pgrp;
}

async function runCommand([text]: string[], values: Values, command: string[]): Promise<number> {
  const name = nameArg(text);
  const timeout = timeoutArg(values.timeout as string | undefined);
  const value = integerArg(values.value as string | undefined, '--value', 0, constants.SEM_VALUE_MAX, 1);
  if (command.length === 0) throw new UsageError('missing COMMAND: run NAME -- COMMAND [ARG...]', 'run');
  // releaseOnExit: should this process die of an uncaught error, the unit goes back.
  const sem = open(name, { create: true, value, releaseOnExit: true, ...trusted(values) });
  try {
    const interrupted = await acquireInterruptibly(sem, timeout);
    if (interrupted !== undefined) return signalStatus(interrupted);
    try {
      return await spawnHolding(command);
    } finally {
      sem.release();
    }
  } finally {
    sem.close();
  }
}

/** Runs the command with our stdio, forwarding signals; resolves to its exit status. */
function spawnHolding([file, ...args]: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    const forward = (signal: ForwardedSignal): void => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null && !terminalDelivered(signal, child.pid)) {
        child.kill(signal);
      }
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const done = (status: number): void => {
      for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, forward);
      resolve(status);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Like a shell: 127 when there is no such command, 126 when it cannot run.
      const notFound = err.code === 'ENOENT';
      process.stderr.write(`${PROGRAM}: cannot run '${file}': ${notFound ? 'command not found' : err.message}\n`);
      done(notFound ? 127 : 126);
    });
    child.on('exit', (code, signal) => done(signal !== null ? signalStatus(signal) : (code ?? EXIT_FAILURE)));
  });
}

/**
 * Splits `run`'s arguments into its own (NAME and options) and the command:
 * at `--`, or else at the first word after NAME, so that the command's own
 * options (`ls -l`) are never taken for ours.
 */
function splitCommand(args: string[], options: Options): [string[], string[]] {
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [args.slice(0, i), args.slice(i + 1)];
    if (arg.startsWith('-') && arg !== '-') {
      const long = arg.startsWith('--') ? arg.slice(2) : undefined;
      const option = long !== undefined ? options[long] : Object.values(options).find((o) => `-${o.short}` === arg);
      if (option?.type === 'string' && !arg.includes('=')) i++;
      continue;
    }
    if (++positionals === 2) return [args.slice(0, i), args.slice(i)];
  }
  return [args, []];
}

// ---------------------------------------------------------------------------
// The command table, help and dispatch.

const help = { type: 'boolean', short: 'h' } as const;
const quietOption = { quiet: { type: 'boolean', short: 'q' } } as const;
const quietHelp = '-q, --quiet        print nothing on success (errors still go to stderr)';

const COMMANDS: Record<string, Command> = {
  list: {
    usage: 'list [--json]',
    summary: `list the semaphores of this host (Linux: the sem.* files of ${SHM_DIR}) with their values`,
    description:
      'Each one is opened without creating it, read (sem_getvalue) and closed again. A value\n' +
      'shows as "?" when it cannot be read, such as another user\'s semaphore with mode 0600.',
    optionHelp: ['--json             an array of objects: name, path, value, mode, uid, owner, gid, group, size, modified'],
    options: { json: { type: 'boolean' }, help },
    positionals: 0,
    run: list,
  },
  info: {
    usage: 'info NAME [--json]',
    summary: 'show the value, mode, owner and path of one semaphore, the processes that have it open, and its holders when robust',
    description:
      'Openers are found in /proc/PID/maps by the file\'s device and inode: the process that created\n' +
      'a semaphore maps it under glibc\'s temporary name, shown "(deleted)". Processes that still\n' +
      'have an older semaphore of this name open, unlinked since, are listed as "unlinked". Without\n' +
      'root, other users\' processes cannot be read: info says how many it could not read.',
    optionHelp: [
      '--json             one object: name, path, value, mode, uid, owner, gid, group, size, modified, holders,',
      '                   openers [{pid, command, path, deleted}], unlinked [{inode, openers}], unreadableProcesses',
    ],
    options: { json: { type: 'boolean' }, help },
    positionals: 1,
    run: info,
  },
  create: {
    usage: 'create NAME [--value N] [--mode 0600] [--exclusive] [--json] [-q]',
    summary: 'create a semaphore, or leave an existing one as it is',
    optionHelp: [
      '--value N          its initial value (default 1)',
      '--mode MODE        octal permission bits, set exactly as given: the umask does not apply (default 0600)',
      '--exclusive        fail if it exists already',
      '--json             one object: name, created, value, mode',
      quietHelp,
      ...trustHelp,
    ],
    options: { value: { type: 'string' }, mode: { type: 'string' }, exclusive: { type: 'boolean' }, json: { type: 'boolean' }, ...quietOption, ...trustOptions, help },
    positionals: 1,
    run: create,
  },
  post: {
    usage: 'post NAME [--count N] [--json] [-q]',
    summary: 'add to the value (sem_post), waking waiters; gives back a unit lost to SIGKILL',
    optionHelp: ['--count N          post N times (default 1)', '--json             one object: name, posted, value', quietHelp, ...trustHelp],
    options: { count: { type: 'string' }, json: { type: 'boolean' }, ...quietOption, ...trustOptions, help },
    positionals: 1,
    run: post,
  },
  wait: {
    usage: 'wait NAME [--timeout MS] [--json] [-q]',
    summary: 'take one unit and keep it (sem_wait)',
    description:
      'Waits until the value is above 0, takes one unit and exits without giving it back: the\n' +
      'shell twin of sem_wait. `post NAME` gives it back. To hold a semaphore only while a\n' +
      'command runs, use run.',
    optionHelp: [
      '--timeout MS       give up after MS milliseconds (exit 124); 0 tries once without waiting',
      '--json             one object: name, took, value',
      quietHelp,
      ...trustHelp,
    ],
    options: { timeout: { type: 'string' }, json: { type: 'boolean' }, ...quietOption, ...trustOptions, help },
    positionals: 1,
    run: wait,
  },
  recover: {
    usage: 'recover NAME [--json] [-q]',
    summary: 'give back the units that dead processes held through robust handles',
    description:
      'For semaphores used with robust: true: every unit that a process which has died took\n' +
      'through a robust handle, and never posted, is posted back (info NAME lists the holders).\n' +
      'Units taken by other programs (C, non-robust handles) are not tracked: post NAME for those.',
    optionHelp: ['--json             one object: name, recovered, from (pids), value', quietHelp, ...trustHelp],
    options: { json: { type: 'boolean' }, ...quietOption, ...trustOptions, help },
    positionals: 1,
    run: recover,
  },
  unlink: {
    usage: 'unlink NAME [--json] [-q]',
    summary: 'remove the name (sem_unlink); processes that have it open keep using it',
    optionHelp: ['--json             one object: name, unlinked', quietHelp],
    options: { json: { type: 'boolean' }, ...quietOption, help },
    positionals: 1,
    run: unlink,
  },
  run: {
    usage: 'run NAME [--timeout MS] [--value N] [-q] -- COMMAND [ARG...]',
    summary: 'hold one unit while COMMAND runs, like flock(1), and exit with its status',
    description:
      'Takes one unit (creating the semaphore with --value if it does not exist), runs COMMAND\n' +
      'with this terminal, and gives the unit back when COMMAND ends, however it ends.\n' +
      'SIGINT, SIGTERM and SIGHUP are forwarded to COMMAND; a Ctrl-C at the terminal reaches it\n' +
      'directly and is not sent twice.\n\n' +
      "Exit status: COMMAND's; 128+N if signal N killed it; 124 if the timeout ran out before\n" +
      'the semaphore was free; 127 if COMMAND was not found.',
    optionHelp: [
      '--timeout MS       give up waiting after MS milliseconds (exit 124)',
      '--value N          the initial value if this call creates the semaphore (default 1)',
      '-q, --quiet        accepted for flock(1) users: run prints nothing of its own on success anyway',
      ...trustHelp,
    ],
    options: { timeout: { type: 'string' }, value: { type: 'string' }, ...quietOption, ...trustOptions, help },
    positionals: 1,
    run: runCommand,
  },
  top: {
    usage: 'top [--interval MS] [--count N] [--match TEXT] [--json]',
    summary: 'a live view of the semaphores of this host: values, their changes, openers and holders',
    description:
      'Refreshes like top(1): each semaphore\'s value, how it moved since the last frame, the\n' +
      'processes that have it open (pids) and, for robust ones, who holds units (pid×units).\n' +
      'On a terminal it takes the whole screen; q or Ctrl-C quits and restores the terminal.\n' +
      'When stdout is not a terminal it prints one plain line per semaphore per frame instead:\n' +
      '  TIME NAME value=N change=+N|-N|0|- openers=PID,...|- holders=PID:UNITS[:dead],...|none|-',
    optionHelp: [
      '--interval MS      milliseconds between frames (default 1000)',
      '--count N          show N frames, then exit',
      '--match TEXT       only the semaphores whose name contains TEXT',
      '--json             one JSON object per frame and line: time, semaphores [{name, value, change,',
      '                   openers, holders}], removed, unreadableProcesses',
    ],
    options: { interval: { type: 'string' }, count: { type: 'string' }, match: { type: 'string' }, json: { type: 'boolean' }, help },
    positionals: 0,
    run: async (_, values) => {
      const interval = integerArg(values.interval as string | undefined, '--interval', 10, TIMEOUT_MAX, 1000);
      const count = values.count === undefined ? undefined : integerArg(values.count as string, '--count', 1, 1_000_000_000, 1);
      if (process.platform !== 'linux') throw new Failure(`top needs Linux, where named semaphores are the sem.* files of ${SHM_DIR}`);
      const { runTop } = await import('./cli/top');
      return runTop(
        { interval, count, json: values.json === true, match: values.match as string | undefined },
        {
          semaphores: () =>
            describeAll('top').map(({ description: d, stats }) => ({ name: d.name, value: d.value, shown: shownValue(d), dev: stats.dev, ino: stats.ino })),
          holders: (name) => holdersOf(name),
        },
      );
    },
  },
  demo: {
    usage: 'demo [--workers N] [--iterations N] [--value N] [--sync]',
    summary: 'watch worker processes share a counter file under one semaphore',
    description:
      'Forks worker processes that each increment a shared counter file under one semaphore\n' +
      '(await acquire() ... release()); shows who holds it, the queue, the throughput and the\n' +
      'worst event-loop delay of the waiting workers; then checks that no update was lost\n' +
      '(exit 0) or that some were (exit 1), and removes the semaphore and its files.',
    optionHelp: [
      '--workers N        worker processes (default 4)',
      '--iterations N     updates per worker (default 250)',
      '--value N          initial value (default 1); above 1, workers update at once and lose updates',
      '--sync             workers wait with the blocking wait() instead of await acquire()',
    ],
    options: {
      workers: { type: 'string' },
      iterations: { type: 'string' },
      value: { type: 'string' },
      sync: { type: 'boolean' },
      help,
    },
    positionals: 0,
    run: async (_, values) => {
      const { runDemo } = await import('./demo');
      return runDemo({
        workers: integerArg(values.workers as string | undefined, '--workers', 1, 64, 4),
        iterations: integerArg(values.iterations as string | undefined, '--iterations', 1, 1_000_000, 250),
        value: integerArg(values.value as string | undefined, '--value', 1, 64, 1),
        sync: values.sync === true,
      });
    },
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.split(' ')[0].length));
  return [
    `Usage: ${PROGRAM} COMMAND [ARGS]`,
    '',
    'Named POSIX semaphores from the shell. NAME is the semaphore\'s name, with or without its leading /.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    `Run '${PROGRAM} COMMAND --help' for a command's usage and options.`,
    '',
    'Exit status: 0 ok; 1 failure (a one-line message on stderr); 2 bad usage;',
    '124 a wait or run timed out; run exits with the status of its command.',
    'With --json, a failure is one JSON line on stderr instead, with the same status:',
    '  {"error": {"code": "ENOENT", "message": "...", "status": 1, ...}}',
    '',
    'Options:',
    '  -h, --help       this help',
    '  -v, --version    the version of posix-semaphore',
  ].join('\n');
}

function commandHelp(name: string): string {
  const c = COMMANDS[name];
  return [
    `Usage: ${PROGRAM} ${c.usage}`,
    '',
    `${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`,
    ...(c.description ? ['', c.description] : []),
    '',
    'Options:',
    ...c.optionHelp.map((line) => `  ${line}`),
    '  -h, --help         this help',
  ].join('\n');
}

// parseArgs' messages are written for programmers: keep what a user needs.
function usageMessage(err: Error & { code?: string }, command: string): string {
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

/**
 * An error under --json: one line on stderr, `{"error": {"code", "message",
 * "status", ...}}` (stdout stays empty, as for any failure); returns the exit
 * status, the same as without --json.
 */
function printError(err: unknown, command: string | undefined): number {
  let error: Record<string, unknown>;
  if (err instanceof UsageError) {
    error = { code: 'ERR_USAGE', message: err.message, status: EXIT_USAGE, help: `${PROGRAM} ${err.command ?? command ?? ''} --help`.replace('  ', ' ') };
  } else {
    const failure = failureOf(err);
    if (failure instanceof Failure) {
      error = { code: failure.code, message: failure.message, status: failure.status, ...failure.details };
    } else {
      const e = err as NodeJS.ErrnoException;
      error = { code: e.code ?? 'ERR_FAILURE', message: e.code ? e.message : String(e.stack ?? e), status: EXIT_FAILURE };
    }
  }
  process.stderr.write(`${JSON.stringify({ error })}\n`);
  return error.status as number;
}

/** Runs the command line `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  let commandName: string | undefined;
  // --json: errors too as one JSON line on stderr. run's command may have a --json of its own.
  let json = first !== 'run' && rest.includes('--json');
  quiet = false;
  try {
    if (first === undefined) {
      process.stderr.write(`${mainHelp()}\n`);
      return EXIT_USAGE;
    }
    if (first === '-h' || first === '--help') {
      out(mainHelp());
      return EXIT_OK;
    }
    if (first === '-v' || first === '--version') {
      out(version());
      return EXIT_OK;
    }
    if (first === 'help') {
      const topic = rest[0];
      if (topic === undefined) out(mainHelp());
      else if (Object.hasOwn(COMMANDS, topic)) out(commandHelp(topic));
      else throw new UsageError(`unknown command '${topic}'`);
      return EXIT_OK;
    }
    if (!Object.hasOwn(COMMANDS, first)) {
      throw new UsageError(first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`);
    }
    commandName = first;
    const command = COMMANDS[first];
    const [own, tail] = first === 'run' ? splitCommand(rest, command.options) : [rest, []];
    json = own.includes('--json') && 'json' in command.options;
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: own, options: command.options, allowPositionals: true, strict: true }) as typeof parsed;
    } catch (err) {
      throw new UsageError(usageMessage(err as Error, first), first);
    }
    if (parsed.values.help) {
      out(commandHelp(first));
      return EXIT_OK;
    }
    quiet = parsed.values.quiet === true;
    if (parsed.positionals.length < command.positionals) throw new UsageError(`missing NAME`, first);
    if (parsed.positionals.length > command.positionals) {
      throw new UsageError(`unexpected argument '${parsed.positionals[command.positionals]}' for '${first}'`, first);
    }
    return await command.run(parsed.positionals, parsed.values, tail);
  } catch (err) {
    if (json) return printError(err, commandName);
    if (err instanceof UsageError) {
      const helpFor = err.command ?? commandName;
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
}

if (require.main === module) {
  // `posix-semaphore list | head -1`: a closed pipe is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
  main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
