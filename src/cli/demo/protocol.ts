// What the demo's parent and workers share: the worker's configuration, the
// messages it sends over IPC, and the counter file they all update.
import { readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The worker's script, forked by the parent. */
export const WORKER_SCRIPT = join(__dirname, 'worker.js');

/** What the parent tells a worker (its argv[3], as JSON, after 'worker'). */
export interface WorkerConfig {
  name: string;
  counter: string;
  iterations: number;
  sync: boolean;
}

/** What a worker tells the parent, over IPC. */
export type WorkerMessage =
  | { type: 'waiting' }
  /** It holds a unit; `seq` is the counter it read, a total order of holders. */
  | { type: 'holding'; seq: number }
  /** It released; the worst event-loop delay it has seen so far, in ms. */
  | { type: 'released'; worstDelayMs: number }
  /** All done: the worst event-loop delay it saw, in ms. */
  | { type: 'done'; updates: number; worstDelayMs: number; waitedMs: number };

const COUNTER_WIDTH = 16; // the counter is a fixed-width decimal, rewritten in place

export function readCounter(fd: number): number {
  const buffer = Buffer.alloc(COUNTER_WIDTH);
  const bytes = readSync(fd, buffer, 0, COUNTER_WIDTH, 0);
  return Number(buffer.toString('latin1', 0, bytes).trim() || '0');
}

export function writeCounter(fd: number, value: number): void {
  writeSync(fd, String(value).padStart(COUNTER_WIDTH), 0, 'latin1');
}
