// post: add to a semaphore's value (sem_post), as often as --count says.
import { constants } from '../binding';
import { Command, help, integerArg, nameArg, quietHelp, quietOption, trusted, trustHelp, trustOptions, Values } from './args';
import { EXIT_FAILURE, EXIT_OK, Failure, failureOf, PROGRAM, printJson, say } from './output';
import { holdersOf, open, valueOf } from './semaphores';

function post([text]: string[], values: Values): number {
  const name = nameArg(text);
  const count = integerArg(values.count as string | undefined, '--count', 1, constants.SEM_VALUE_MAX, 1);
  if (!values.force) refuseRobustHolders(name);
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

// A unit posted by hand while the robust ledger records holders would be
// granted a second time when their units come back (a dead holder's by
// recovery, a live one's when it posts).
function refuseRobustHolders(name: string): void {
  const holding = (holdersOf(name) ?? []).filter((h) => h.units > 0);
  if (holding.length === 0) return;
  const units = holding.reduce((sum, h) => sum + h.units, 0);
  const dead = holding.filter((h) => !h.alive);
  const who = holding.map((h) => `pid ${h.pid} (${h.units}, ${h.alive ? 'alive' : 'dead'})`).join(', ');
  throw new Failure(
    `refusing to post to ${name}: its robust ledger records ${units} unit${units === 1 ? '' : 's'} held by ${who}; ` +
      `they come back by themselves (${dead.length > 0 ? `'${PROGRAM} recover ${name}' posts the dead holders' now` : 'when their holders post or die'}), ` +
      'and a post now would grant them twice. Pass --force to post anyway.',
    EXIT_FAILURE,
    'ERR_ROBUST_HOLDERS',
  );
}

export const postCommand: Command = {
  usage: 'post NAME [--count N] [--force] [--json] [-q]',
  summary: 'add to the value (sem_post), waking waiters; gives back a unit lost to SIGKILL',
  optionHelp: [
    '--count N          post N times (default 1)',
    '--force            post even while a robust ledger records holders (refused otherwise)',
    '--json             one object: name, posted, value',
    quietHelp,
    ...trustHelp,
  ],
  options: { count: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' }, ...quietOption, ...trustOptions, help },
  positionals: 1,
  run: post,
};
