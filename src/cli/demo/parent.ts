// `npm run demo` / `posix-semaphore demo`: worker processes increment one
// counter file under one semaphore, the parent shows the traffic live and
// checks at the end that no update was lost. This file is the parent; each
// worker is worker.ts, forked.
import { fork, ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Semaphore } from '../../semaphore';
import { readCounter, WORKER_SCRIPT, WorkerConfig, WorkerMessage, writeCounter } from './protocol';

/** How the demo runs; the CLI's flags. */
export interface DemoOptions {
  /** Worker processes. */
  workers: number;
  /** Updates of the counter per worker. */
  iterations: number;
  /** Initial value of the semaphore: 1 makes it a mutex; more lets updates collide. */
  value: number;
  /** Workers wait with the blocking wait() instead of await acquire(). */
  sync: boolean;
  /** Where the lines go (default: stdout). */
  output?: NodeJS.WriteStream;
}

const STALL_MS = 15_000; // no update for this long: a worker is stuck
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface WorkerState {
  child: ChildProcess;
  state: 'starting' | 'waiting' | 'holding' | 'idle' | 'done';
  seq: number;
  updates: number;
  worstDelayMs: number;
  waitedMs: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Runs the demo and resolves to its exit status: 0 when the counter ends at
 * workers × iterations (or, with value > 1, whatever it ends at: losing
 * updates is what that shows), 1 when an update was lost under value 1 or
 * a worker failed.
 * Signals (Ctrl-C) stop the workers and clean up before exiting.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { workers: count, iterations, value, sync } = options;
  const output = options.output ?? process.stdout;
  const tty = output.isTTY === true;
  const name = `/posix-semaphore-demo-${process.pid}`;
  const expected = count * iterations;

  // The counter file first, the semaphore last: whichever fails (a TMPDIR
  // that does not exist, a name taken), nothing is left behind. From the
  // semaphore on, the finally below cleans up (a fork that throws rejects
  // `finished`).
  const dir = mkdtempSync(join(tmpdir(), 'posix-semaphore-demo-'));
  const counter = join(dir, 'counter');
  let fd: number | undefined;
  let sem: Semaphore;
  try {
    fd = openSync(counter, 'w+');
    writeCounter(fd, 0);
    sem = new Semaphore(name, { create: true, exclusive: true, value });
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const print = (line: string): void => {
    output.write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  };
  print(
    `${plural(count, 'worker')} × ${iterations} updates of one counter file under semaphore ${name} (value ${value}), ` +
      `${sync ? 'blocking wait()' : 'await acquire()'}`,
  );

  const states: WorkerState[] = [];
  const started = performance.now();
  let updates = 0;
  let lastProgress = started;
  let worstDelayMs = 0;
  let interrupted: NodeJS.Signals | undefined; // Ctrl-C or kill: stop, clean up, exit 128+N
  let stalled = false;

  const finished = new Promise<void>((resolve) => {
    let running = count;
    for (let id = 1; id <= count; id++) {
      const config: WorkerConfig = { name, counter, iterations, sync };
      const child = fork(WORKER_SCRIPT, ['worker', JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const state: WorkerState = { child, state: 'starting', seq: -1, updates: 0, worstDelayMs: 0, waitedMs: 0 };
      states.push(state);
      child.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'waiting':
            state.state = 'waiting';
            break;
          case 'holding':
            state.state = 'holding';
            state.seq = message.seq;
            break;
          case 'released':
            state.state = 'idle';
            state.updates++;
            state.worstDelayMs = message.worstDelayMs;
            worstDelayMs = Math.max(worstDelayMs, message.worstDelayMs);
            updates++;
            lastProgress = performance.now();
            break;
          case 'done':
            state.state = 'done';
            state.worstDelayMs = message.worstDelayMs;
            state.waitedMs = message.waitedMs;
            worstDelayMs = Math.max(worstDelayMs, message.worstDelayMs);
            break;
        }
      });
      child.on('exit', (code, signal) => {
        state.exit = { code, signal };
        state.state = 'done';
        if (--running === 0) resolve();
      });
    }
  });

  // Live view: who holds it, how many wait, how far, how fast.
  let lastUpdates = 0;
  let lastTick = started;
  let rate = 0;
  const status = (): string => {
    const now = performance.now();
    if (now - lastTick >= 200) {
      rate = ((updates - lastUpdates) * 1000) / (now - lastTick);
      lastUpdates = updates;
      lastTick = now;
    }
    // IPC from different workers may arrive out of order: the holders are
    // the `value` workers that read the highest counters.
    const holders = states
      .map((s, i) => ({ s, id: i + 1 }))
      .filter(({ s }) => s.state === 'holding')
      .sort((a, b) => b.s.seq - a.s.seq)
      .slice(0, value)
      .map(({ id }) => `w${id}`);
    const queue = states.filter((s) => s.state === 'waiting').length;
    const elapsed = ((now - started) / 1000).toFixed(1);
    return (
      `${elapsed.padStart(5)}s  holder ${(holders.join(',') || '-').padEnd(value * 3)}  queue ${queue}  ` +
      `${String(updates).padStart(String(expected).length)}/${expected} updates  ${Math.round(rate).toString().padStart(5)} ops/s  ` +
      `worst loop delay ${worstDelayMs.toFixed(1)} ms`
    );
  };
  const interval = setInterval(
    () => {
      if (tty) output.write(`\r\x1b[K${status()}`);
      else output.write(`${status()}\n`);
      if (performance.now() - lastProgress > STALL_MS) {
        stalled = true;
        print(`no update for ${STALL_MS / 1000} s: a worker is stuck; stopping`);
        stop();
      }
    },
    tty ? 100 : 500,
  );

  const stop = (): void => {
    for (const s of states) if (s.exit === undefined) s.child.kill('SIGTERM');
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted ??= signal;
    stop();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  let exitStatus = 0;
  try {
    await finished;
    clearInterval(interval);
    const seconds = (performance.now() - started) / 1000;
    if (tty) output.write('\r\x1b[K');
    const final = readCounter(fd);
    const failed = states.filter((s) => s.exit?.code !== 0);
    for (const s of states) {
      const id = states.indexOf(s) + 1;
      const ended = s.exit?.signal ? `killed by ${s.exit.signal}` : `exit ${s.exit?.code}`;
      print(
        `  w${id}: ${s.updates} updates, waited ${(s.waitedMs / 1000).toFixed(2)} s in all, ` +
          `worst event-loop delay while waiting ${s.worstDelayMs.toFixed(1)} ms${s.exit?.code === 0 ? '' : ` (${ended})`}`,
      );
    }
    const throughput = Math.round(updates / seconds);
    const timing = `${throughput} updates/s over ${seconds.toFixed(2)} s; worst event-loop delay in a waiting worker ${worstDelayMs.toFixed(1)} ms`;
    if (interrupted !== undefined && failed.length > 0) {
      print(`interrupted (${interrupted}): counter ${final} of ${expected}`);
      exitStatus = 128 + (osConstants.signals[interrupted] ?? 0);
    } else if (stalled) {
      print(`FAILED: stopped after ${STALL_MS / 1000} s without progress; counter ${final} of ${expected}`);
      exitStatus = 1;
    } else if (failed.length > 0) {
      print(`FAILED: ${plural(failed.length, 'worker')} did not finish; counter ${final} of ${expected}`);
      exitStatus = 1;
    } else if (value > 1) {
      // What --value N was asked to show: N holders at once break the
      // read-modify-write. Not a failure of the demo (nor of the package).
      const lost = expected - final;
      print(
        `${lost > 0 ? `as expected with --value ${value}: ${plural(lost, 'update')} lost (counter ${final} of ${expected})` : `no update lost this time (counter ${final} of ${expected}), by luck`}: ` +
          `value ${value} lets ${value} workers read and write the counter at once, which is the lesson of --value ${value}; ` +
          `with value 1 (the default) none are lost; ${timing}`,
      );
    } else if (final !== expected) {
      print(`FAILED: counter ${final}, expected ${expected}: ${plural(expected - final, 'update')} lost; ${timing}`);
      exitStatus = 1;
    } else {
      print(`ok: counter ${final} = ${count} × ${iterations}, no update lost; ${timing}`);
    }
  } finally {
    clearInterval(interval);
    for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
    closeSync(fd);
    sem.close();
    sem.unlink();
    rmSync(dir, { recursive: true, force: true });
  }
  return exitStatus;
}
