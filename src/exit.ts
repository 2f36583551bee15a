// The exit path. The kernel closes every semaphore of a process that ends,
// so nothing here may change how the process exits:
// - one shared 'exit' listener per process (or worker), which only logs;
//   handles stay usable by the program's own later 'exit' listeners;
// - units of releaseOnExit handles are posted back natively, after the last
//   'exit' listener (a C atexit handler; a worker's environment teardown);
// - SIGINT/SIGTERM listeners only once some handle asked for releaseOnExit,
//   which post back the units (of every thread: a worker's handles too) and
//   re-raise the signal if nobody else listens.
import { constants as osConstants } from 'node:os';
import { native } from './binding';
import { debugFromEnv, debugLog } from './debug';

/** Flag bit passed through the native layer: this handle logs. */
export const DEBUG_FLAG = 0x100;

let exitListening = false;
let signalsListening = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

function onExit(code: number): void {
  for (const [name, held, flags] of native.openHandles()) {
    if (!(debugFromEnv || flags & DEBUG_FLAG)) continue;
    const releasing = flags & native.constants.RELEASE_ON_EXIT && held > 0;
    debugLog(name, `exit ${code}: closed by the kernel${releasing ? `; posting back ${held} unit(s) held` : ''}`);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  // The program listens too: it decides what the signal means, and its
  // units go back at exit if it ends.
  if (process.listenerCount(signal) > 1) return;
  const released = native.releaseHeld();
  if (debugFromEnv) debugLog(String(process.pid), `${signal}: released ${released} unit(s)`);
  // Nobody else listens: die by the signal, as without this package.
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

/**
 * A sync wait ended with EINTR for the signals in `mask` (bit n: signal n).
 * When the only listener for one is releaseOnExit's, act on it now (the
 * event loop that would deliver it is blocked under the wait): release and
 * die by it.
 */
export function signalEndedWait(mask: number): void {
  if (!signalsListening) return;
  const signal = SIGNALS.find((s) => (mask & (1 << osConstants.signals[s])) !== 0);
  if (signal !== undefined && process.listenerCount(signal) === 1) onSignal(signal);
}

// Loaded only when needed: node:worker_threads weighs ~0.4 MB of heap.
let mainThread: boolean | undefined;
export function isMainThread(): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, see above
  mainThread ??= (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
  return mainThread;
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
