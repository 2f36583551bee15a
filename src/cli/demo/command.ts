// demo: the command's entry; the demo itself (parent.ts, worker.ts) loads
// only when it runs.
import { Command, help, integerArg } from '../args';

export const demoCommand: Command = {
  usage: 'demo [--workers N] [--iterations N] [--value N] [--sync]',
  summary: 'watch worker processes share a counter file under one semaphore',
  description:
    'Forks worker processes that each increment a shared counter file under one semaphore\n' +
    '(await acquire() ... release()); shows who holds it, the queue, the throughput and the\n' +
    'worst event-loop delay of the waiting workers; then checks that no update was lost\n' +
    '(exit 0) or that some were (exit 1), and removes the semaphore and its files. With\n' +
    '--value 2 or more, updates are lost on purpose: that is the lesson, and it exits 0.',
  optionHelp: [
    '--workers N        worker processes (default 4)',
    '--iterations N     updates per worker (default 250)',
    '--value N          initial value (default 1); above 1, workers update at once and lose updates (the lesson)',
    '--sync             workers wait with the blocking wait() instead of await acquire()',
  ],
  options: {
    workers: { type: 'string' },
    iterations: { type: 'string' },
    value: { type: 'string' },
    sync: { type: 'boolean' },
    help,
  },
  positionals: 0,
  run: async (_, values) => {
    const { runDemo } = await import('./parent');
    return runDemo({
      workers: integerArg(values.workers as string | undefined, '--workers', 1, 64, 4),
      iterations: integerArg(values.iterations as string | undefined, '--iterations', 1, 1_000_000, 250),
      value: integerArg(values.value as string | undefined, '--value', 1, 64, 1),
      sync: values.sync === true,
    });
  },
};
