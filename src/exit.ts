// The exit path: one shared 'exit' listener per process (or worker), and
// SIGINT/SIGTERM listeners only once some handle asked for releaseOnExit.
import { native } from './binding';
import { debugFromEnv, debugLog } from './debug';

/** Flag bit passed through the native layer: this handle logs. */
export const DEBUG_FLAG = 0x100;

let exitListening = false;
let signalsListening = false;
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Posts back held units (releaseOnExit) and closes handles (closeOnExit). */
function finishAll(why: string): void {
  for (const [name, released, flags] of native.atExit()) {
    if (debugFromEnv || flags & DEBUG_FLAG) {
      debugLog(name, `${why}: closed${released > 0 ? `, released ${released} unit(s)` : ''}`);
    }
  }
}

function onExit(code: number): void {
  finishAll(`exit ${code}`);
}

function onSignal(signal: NodeJS.Signals): void {
  // The program listens too: it decides what the signal means, and will
  // reach 'exit' if it ends.
  if (process.listenerCount(signal) > 1) return;
  finishAll(signal);
  // Nobody else listens: die by the signal, as without this package.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

// Loaded only when needed: node:worker_threads weighs ~0.4 MB of heap.
function isMainThread(): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
}

/** Called when a handle with closeOnExit or releaseOnExit opens. Idempotent. */
export function listenForExit(releaseOnExit: boolean): void {
  if (!exitListening) {
    exitListening = true;
    process.on('exit', onExit);
  }
  // Worker threads receive no signals; their teardown is native (env cleanup hook).
  if (releaseOnExit && !signalsListening && isMainThread()) {
    signalsListening = true;
    for (const s of SIGNALS) process.on(s, onSignal);
  }
}
