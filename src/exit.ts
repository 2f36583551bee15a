// The exit path, JS half: the only listeners the package installs. The
// units a process holds belong to its accounts (native/account.h); every
// exit trigger posts them back natively, in one place:
// - the end of the program, process.exit(), an uncaught exception: a C
//   atexit handler, after every JS 'exit' listener (which may still post);
// - SIGINT/SIGTERM: the listeners below, installed only once some handle
//   asked for releaseOnExit (of the main thread: worker threads get no
//   signal events, and the native layer catches those signals for them
//   while nobody listens), which post back the accounts of every thread and
//   re-raise the signal if nobody else listens, so the exit status stays
//   the conventional one.
// No 'exit' listener: the kernel closes every semaphore of a process that
// ends, and there is nothing else to do then.
import { constants as osConstants } from 'node:os';
import { native } from './binding';
import { debugFromEnv, debugLog } from './debug';

/** Flag bit passed through the native layer: this handle logs. */
export const DEBUG_FLAG = 0x100;

let signalsListening = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

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

/** Called when a handle with releaseOnExit opens. Idempotent. */
export function listenForExit(): void {
  if (!signalsListening && isMainThread()) {
    signalsListening = true;
    for (const s of SIGNALS) process.on(s, onSignal);
  }
}
