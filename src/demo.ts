// `npm run demo` / `posix-semaphore demo`: worker processes increment one
// counter file under one semaphore, the parent shows the traffic live and
// checks at the end that no update was lost. This file is both the parent
// (runDemo) and, when forked with the argument 'worker', the worker.
import { fork, ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Semaphore } from './semaphore';

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

interface WorkerConfig {
  name: string;
  counter: string;
  iterations: number;
  sync: boolean;
}

/** What a worker tells the parent, over IPC. */
type WorkerMessage =
  | { type: 'waiting' }
  /** It holds a unit; `seq` is the counter it read, a total order of holders. */
  | { type: 'holding'; seq: number }
  /** It released; the worst event-loop delay it has seen so far, in ms. */
  | { type: 'released'; worstDelayMs: number }
  /** All done: the worst event-loop delay it saw, in ms. */
  | { type: 'done'; updates: number; worstDelayMs: number; waitedMs: number };

const COUNTER_WIDTH = 16; // the counter is a fixed-width decimal, rewritten in place
const STALL_MS = 15_000; // no update for this long: a worker is stuck
const DELAY_RESOLUTION_MS = 1;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// ---------------------------------------------------------------------------
// The worker

function readCounter(fd: number): number {
  const buffer = Buffer.alloc(COUNTER_WIDTH);
  const bytes = readSync(fd, buffer, 0, COUNTER_WIDTH, 0);
  return Number(buffer.toString('latin1', 0, bytes).trim() || '0');
}

function writeCounter(fd: number, value: number): void {
  writeSync(fd, String(value).padStart(COUNTER_WIDTH), 0, 'latin1');
}

async function worker(config: WorkerConfig): Promise<void> {
  const send = (message: WorkerMessage): void => {
    process.send!(message);
  };
  const sem = new Semaphore(config.name, { create: false });
  const fd = openSync(config.counter, 'r+');
  // One monitor for the whole run, sampling every millisecond: this worker
  // spends its time waiting, and a wait that blocks the thread shows as one
  // late sample. (Toggled per wait it would mislead: a re-enabled monitor
  // counts its disabled time as delay, and reset() drops the next sample.)
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  delay.enable();
  await sleep(2 * DELAY_RESOLUTION_MS); // the first sample only starts the clock
  const worstDelayMs = (): number => (delay.count > 0 ? Math.max(0, delay.max / 1e6 - DELAY_RESOLUTION_MS) : 0);
  let waitedNs = 0n;
  for (let i = 0; i < config.iterations; i++) {
    send({ type: 'waiting' });
    const start = process.hrtime.bigint();
    if (config.sync) sem.wait();
    else await sem.acquire();
    waitedNs += process.hrtime.bigint() - start;
    try {
      // The read-modify-write that the semaphore protects: read, pause, write.
      const seq = readCounter(fd);
      send({ type: 'holding', seq });
      await sleep(1);
      writeCounter(fd, seq + 1);
      send({ type: 'released', worstDelayMs: worstDelayMs() });
    } finally {
      sem.release();
    }
  }
  delay.disable();
  closeSync(fd);
  sem.close();
  send({ type: 'done', updates: config.iterations, worstDelayMs: worstDelayMs(), waitedMs: Number(waitedNs) / 1e6 });
  process.disconnect();
}

// ---------------------------------------------------------------------------
// The parent

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
 * workers × iterations, 1 when an update was lost or a worker failed.
 * Signals (Ctrl-C) stop the workers and clean up before exiting.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { workers: count, iterations, value, sync } = options;
  const output = options.output ?? process.stdout;
  const tty = output.isTTY === true;
  const name = `/posix-semaphore-demo-${process.pid}`;
  const expected = count * iterations;

  const sem = new Semaphore(name, { create: true, exclusive: true, value });
  const dir = mkdtempSync(join(tmpdir(), 'posix-semaphore-demo-'));
  const counter = join(dir, 'counter');
  const fd = openSync(counter, 'w+');
  writeCounter(fd, 0);

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
      const child = fork(__filename, ['worker', JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

if (require.main === module && process.argv[2] === 'worker' && process.send !== undefined) {
  worker(JSON.parse(process.argv[3]) as WorkerConfig).catch((err: unknown) => {
    process.stderr.write(`posix-semaphore demo worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
    process.disconnect();
  });
}
