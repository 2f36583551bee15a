// `posix-semaphore top`: a live view of the semaphores of this host, refreshed
// like top(1): each one's value, how it moved since the last frame, the
// processes that have it open and, for robust ones, who holds its units.
// On a terminal: the alternate screen, redrawn in place, q or Ctrl-C quits
// and the terminal is restored however it ends. Elsewhere (a pipe, a log):
// one plain line per semaphore per frame, or one JSON object per frame.
import { deviceOf, ProcScan, scanProc, unreadableNote } from '../system/proc';
import { SHM_DIR } from '../system/shm';
import { TIMEOUT_MAX } from '../validate';
import { Command, help, integerArg } from './args';
import { Failure } from './output';
import { describeAll, holdersOf, shownValue } from './semaphores';

export const topCommand: Command = {
  usage: 'top [--interval MS] [--count N] [--match TEXT] [--json]',
  summary: 'a live view of the semaphores of this host: values, their changes, openers and holders',
  description:
    "Refreshes like top(1): each semaphore's value, how it moved since the last frame, the\n" +
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
    return runTop(
      { interval, count, json: values.json === true, match: values.match as string | undefined },
      {
        semaphores: () =>
          describeAll('top').map(({ description: d, stats }) => ({
            name: d.name,
            value: d.value,
            shown: shownValue(d),
            dev: stats.dev,
            ino: stats.ino,
          })),
        holders: (name) => {
          try {
            return holdersOf(name);
          } catch {
            return null; // a corrupt ledger: info NAME says so
          }
        },
      },
    );
  },
};

/** What `top` needs to know of one semaphore; the CLI's `list` makes them. */
export interface TopSemaphore {
  name: string;
  value: number | null;
  /** The value as shown: the number, or "?" with why. */
  shown: string;
  dev: number | null;
  ino: number | null;
}

export interface TopHolder {
  pid: number;
  units: number;
  alive: boolean;
}

export interface TopOptions {
  /** Milliseconds between frames. */
  interval: number;
  /** Frames to show before exiting; undefined: until q, Ctrl-C or a signal. */
  count: number | undefined;
  /** One JSON object per frame, never the full screen. */
  json: boolean;
  /** Only the names that contain this text. */
  match: string | undefined;
}

export interface TopSources {
  /** The semaphores of the host, sorted by name. */
  semaphores(): TopSemaphore[];
  /** A robust semaphore's holders; null when it has no ledger. */
  holders(name: string): TopHolder[] | null;
}

interface Row {
  name: string;
  value: number | null;
  shown: string;
  /** value - the value in the last frame; null when unknown or new. */
  change: number | null;
  openers: number[];
  holders: TopHolder[] | null;
}

interface Frame {
  time: Date;
  rows: Row[];
  removed: string[];
  scan: ProcScan;
}

const ESC = '\x1b[';
const ALTERNATE_SCREEN = `${ESC}?1049h`;
const MAIN_SCREEN = `${ESC}?1049l`;
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const HOME = `${ESC}H`;
const CLEAR_BELOW = `${ESC}J`;
const CLEAR_TO_END = `${ESC}K`;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_NUMBERS: Record<(typeof SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/** Runs the view until q, Ctrl-C, a signal or `count` frames; resolves to the exit status. */
export function runTop(options: TopOptions, sources: TopSources): Promise<number> {
  const stdout = process.stdout;
  const screen = stdout.isTTY === true && !options.json;
  let previous = new Map<string, number | null>();
  let frames = 0;
  let last: Frame | undefined;

  const frame = (): Frame => {
    const semaphores = sources.semaphores().filter((s) => options.match === undefined || s.name.includes(options.match));
    const scan = scanProc();
    const openers = new Map<string, number[]>();
    for (const m of scan.mappings) {
      const key = `${m.device} ${m.inode}`;
      const pids = openers.get(key);
      if (pids === undefined) openers.set(key, [m.pid]);
      else pids.push(m.pid);
    }
    const deviceKey = (s: TopSemaphore): string | undefined => (s.dev === null || s.ino === null ? undefined : `${deviceOf(s.dev)} ${s.ino}`);
    const rows = semaphores.map((s): Row => {
      const before = previous.get(s.name);
      const key = deviceKey(s);
      return {
        name: s.name,
        value: s.value,
        shown: s.shown,
        change: before === undefined || before === null || s.value === null ? null : s.value - before,
        openers: (key === undefined ? [] : (openers.get(key) ?? [])).sort((a, b) => a - b),
        holders: sources.holders(s.name),
      };
    });
    const now = new Map(rows.map((r) => [r.name, r.value]));
    const removed = [...previous.keys()].filter((name) => !now.has(name));
    previous = now;
    return { time: new Date(), rows, removed, scan };
  };

  return new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const input = process.stdin;
    const keys = screen && input.isTTY === true;

    const restore = (): void => {
      if (!screen) return;
      if (keys) {
        try {
          input.setRawMode(false);
        } catch {
          // the terminal is gone
        }
      }
      stdout.write(`${SHOW_CURSOR}${MAIN_SCREEN}`);
    };
    const onExit = (): void => restore(); // last resort: an error thrown on the way out
    const finish = (status: number): void => {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const signal of SIGNALS) process.removeListener(signal, onSignal);
      process.removeListener('exit', onExit);
      stdout.removeListener('resize', onResize);
      if (keys) {
        input.removeListener('data', onKey);
        input.pause();
      }
      restore();
      resolve(status);
    };
    const onSignal = (signal: (typeof SIGNALS)[number]): void => finish(128 + SIGNAL_NUMBERS[signal]);
    const onKey = (data: Buffer | string): void => {
      const text = data.toString();
      if (text.includes('q') || text.includes('Q') || text.includes('\x03')) finish(0);
    };
    const onResize = (): void => {
      if (last !== undefined) draw(last);
    };

    const draw = (f: Frame): void => {
      if (options.json) stdout.write(`${JSON.stringify(jsonFrame(f))}\n`);
      else if (screen) stdout.write(screenFrame(f, options, stdout.columns || 80, stdout.rows || 24));
      else stdout.write(plainFrame(f, frames === 0));
    };
    const tick = (): void => {
      if (finished) return;
      try {
        last = frame();
        draw(last);
      } catch (err) {
        finish(1);
        throw err;
      }
      frames++;
      if (options.count !== undefined && frames >= options.count) finish(0);
      else timer = setTimeout(tick, options.interval);
    };

    if (screen) {
      for (const signal of SIGNALS) process.on(signal, onSignal);
      process.on('exit', onExit);
      stdout.on('resize', onResize);
      stdout.write(`${ALTERNATE_SCREEN}${HIDE_CURSOR}`);
      if (keys) {
        input.setRawMode(true);
        input.on('data', onKey);
        input.resume();
      }
    }
    tick();
  });
}

function signed(n: number | null): string {
  if (n === null) return '';
  return n > 0 ? `+${n}` : String(n);
}

function holdersText(holders: TopHolder[] | null): string {
  if (holders === null) return '';
  const held = holders.filter((h) => h.units > 0);
  if (held.length === 0) return 'none';
  return held.map((h) => `${h.pid}×${h.units}${h.alive ? '' : ' dead'}`).join(' ');
}

/** The full screen: a header, then one row per semaphore, cut to the terminal's size. */
function screenFrame(f: Frame, options: TopOptions, columns: number, rows: number): string {
  const header = [
    `posix-semaphore top  ${f.time.toTimeString().slice(0, 8)}  every ${options.interval} ms  ${f.rows.length} semaphore${f.rows.length === 1 ? '' : 's'}${options.match ? ` matching '${options.match}'` : ''}  q quits`,
    unreadableNote(f.scan) ?? '',
  ];
  const table = [
    ['NAME', 'VALUE', 'CHANGE', 'OPENERS', 'HOLDERS (pid×units)'],
    ...f.rows.map((r) => [
      r.name,
      r.shown,
      signed(r.change),
      r.openers.length === 0 ? '0' : `${r.openers.length}: ${r.openers.join(' ')}`,
      holdersText(r.holders),
    ]),
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...table.map((row) => row[c].length)));
  const lines = table.map((row) =>
    [row[0].padEnd(widths[0]), row[1].padStart(widths[1]), row[2].padStart(Math.max(widths[2], 6)), row[3], row[4]].join('  ').trimEnd(),
  );
  let body = [...header, ...lines];
  if (body.length > rows - 1) {
    const hidden = body.length - (rows - 2);
    body = [...body.slice(0, rows - 2), `... ${hidden} more (a taller terminal, or --match NAME)`];
  }
  const cut = (line: string): string => (line.length > columns ? line.slice(0, columns) : line);
  // Overwrite in place (no flicker); the terminal turns \n into \r\n (raw mode keeps ONLCR).
  return `${HOME}${body.map((line) => `${cut(line)}${CLEAR_TO_END}`).join('\n')}${CLEAR_BELOW}`;
}

/** Plain lines, one per semaphore: for logs, pipes and tests. */
function plainFrame(f: Frame, first: boolean): string {
  const time = f.time.toISOString();
  const lines = f.rows.map(
    (r) =>
      `${time} ${r.name} value=${r.value ?? '?'} change=${r.change === null ? '-' : signed(r.change)} ` +
      `openers=${r.openers.length === 0 ? '-' : r.openers.join(',')} holders=${r.holders === null ? '-' : holdersText(r.holders).replace(/ dead/g, ':dead').replace(/ /g, ',').replace(/×/g, ':')}`,
  );
  for (const name of f.removed) lines.push(`${time} ${name} removed`);
  const note = unreadableNote(f.scan);
  if (note !== undefined && first) lines.push(`${time} note: ${note}`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function jsonFrame(f: Frame): unknown {
  return {
    time: f.time.toISOString(),
    semaphores: f.rows.map((r) => ({ name: r.name, value: r.value, change: r.change, openers: r.openers, holders: r.holders })),
    removed: f.removed,
    unreadableProcesses: f.scan.unreadable,
  };
}
