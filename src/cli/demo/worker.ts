// A worker of `posix-semaphore demo`, forked by parent.ts: it increments the
// shared counter file `iterations` times under the semaphore, telling the
// parent over IPC when it waits, holds and releases.
import { closeSync, openSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Semaphore } from '../../semaphore';
import { readCounter, WorkerConfig, WorkerMessage, writeCounter } from './protocol';

const DELAY_RESOLUTION_MS = 1;

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

if (require.main === module && process.argv[2] === 'worker' && process.send !== undefined) {
  worker(JSON.parse(process.argv[3]) as WorkerConfig).catch((err: unknown) => {
    process.stderr.write(`posix-semaphore demo worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
    process.disconnect();
  });
}
