// wait: take one unit and keep it (sem_wait); and the interruptible acquire
// that run shares, abandoned cleanly when SIGINT, SIGTERM or SIGHUP arrives.
import { constants as osConstants } from 'node:os';
import { SemaphoreError } from '../errors';
import type { Semaphore } from '../semaphore';
import { Command, help, nameArg, quietHelp, quietOption, timeoutArg, trusted, trustHelp, trustOptions, Values } from './args';
import { EXIT_OK, EXIT_TIMEOUT, Failure, failureOf, printJson, say } from './output';
import { open, valueOf } from './semaphores';

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** The exit status of a process that `signal` ended, as a shell reports it: 128 + N. */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/**
 * acquire() with the timeout asked for, abandoned cleanly (holding nothing)
 * when SIGINT, SIGTERM or SIGHUP arrives while it waits.
 * Returns the signal that interrupted it, if any.
 */
export async function acquireInterruptibly(sem: Semaphore, timeout: number | undefined): Promise<ForwardedSignal | undefined> {
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
      const message =
        timeout === 0 ? `semaphore '${sem.name}' is taken (its value is 0)` : `timed out after ${timeout} ms waiting for semaphore '${sem.name}'`;
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

export const waitCommand: Command = {
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
};
