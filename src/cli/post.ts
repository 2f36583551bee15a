// post: add to a semaphore's value (sem_post), as often as --count says.
import { constants } from '../binding';
import { Command, help, integerArg, nameArg, quietHelp, quietOption, trusted, trustHelp, trustOptions, Values } from './args';
import { EXIT_OK, Failure, failureOf, printJson, say } from './output';
import { open, valueOf } from './semaphores';

function post([text]: string[], values: Values): number {
  const name = nameArg(text);
  const count = integerArg(values.count as string | undefined, '--count', 1, constants.SEM_VALUE_MAX, 1);
  const sem = open(name, { create: false, ...trusted(values) });
  try {
    // Fail at once, not after posting one by one for minutes, when the count
    // cannot fit (sem_post would fail EOVERFLOW at SEM_VALUE_MAX). Where the
    // value cannot be read (macOS), the loop below finds out.
    const before = valueOf(sem);
    if (before !== undefined && count > constants.SEM_VALUE_MAX - before) {
      const failure = new Failure(
        `cannot post ${count} to semaphore '${name}': its value is ${before} and can reach at most ${constants.SEM_VALUE_MAX} (SEM_VALUE_MAX), so at most ${constants.SEM_VALUE_MAX - before} more; nothing was posted`,
        undefined,
        'EOVERFLOW',
      );
      failure.details.semaphore = name;
      throw failure;
    }
    for (let posted = 0; posted < count; posted++) {
      try {
        sem.post();
      } catch (err) {
        const failure = failureOf(err, name);
        if (failure instanceof Failure && posted > 0) failure.message += ` (after posting ${posted} of ${count})`;
        throw failure;
      }
    }
    const now = valueOf(sem);
    if (values.json) printJson({ name, posted: count, value: now ?? null });
    else say(`posted ${count} to ${name}${now === undefined ? '' : `; value now ${now}`}`);
  } finally {
    sem.close();
  }
  return EXIT_OK;
}

export const postCommand: Command = {
  usage: 'post NAME [--count N] [--json] [-q]',
  summary: 'add to the value (sem_post), waking waiters; gives back a unit lost to SIGKILL',
  optionHelp: ['--count N          post N times (default 1)', '--json             one object: name, posted, value', quietHelp, ...trustHelp],
  options: { count: { type: 'string' }, json: { type: 'boolean' }, ...quietOption, ...trustOptions, help },
  positionals: 1,
  run: post,
};
