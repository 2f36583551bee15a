// Signals and sync waits, the JS half of native/signal_window.*: which
// signals may end a blocking wait of the main thread (those the program
// listens to, so that the wait returns and the listener runs), and what a
// wait that they ended does next.
import { constants as osConstants } from 'node:os';
import { WaitOutcome } from './binding';
import { isMainThread, signalEndedWait } from './exit';

// Signals the program listens to in JS: while a sync wait blocks, they
// interrupt it (EINTR) so that the wait can return and the listener run.
// The mask is cached and recomputed after process listeners change (~200 ns
// saved on every blocking wait).
const INTERRUPTING: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM'];
let signalMask = 0;
let signalMaskStale = true;
let watchingListeners = false;

/** The signals (bit n: signal n) that end a sync wait of this thread now: none in a worker thread. */
export function interruptingSignals(): number {
  if (!watchingListeners) {
    if (!isMainThread()) return 0; // signals reach the main thread only
    watchingListeners = true;
    const stale = (event: string | symbol): void => {
      if (typeof event === 'string' && event.startsWith('SIG')) signalMaskStale = true;
    };
    process.on('newListener', stale);
    process.on('removeListener', stale);
  }
  if (signalMaskStale) {
    // 'newListener' fires before the listener is added: count on the next wait.
    signalMaskStale = false;
    signalMask = 0;
    for (const signal of INTERRUPTING) {
      if (process.listenerCount(signal) > 0) signalMask |= 1 << osConstants.signals[signal];
    }
  }
  return signalMask;
}

/**
 * A sync wait returned `result`: true to wait again, when signals the
 * program listens to ended it and `retryOnEintr` asks to go on; false to
 * return `result` (a unit, a failure, or EINTR to throw). When the only
 * listener of the signal is releaseOnExit's, it acts now and never returns.
 */
export function waitAgain(result: WaitOutcome, retryOnEintr: boolean): boolean {
  if (typeof result !== 'object') return false;
  signalEndedWait(result.signals);
  return retryOnEintr;
}
