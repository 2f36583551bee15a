// unlink: remove a name (sem_unlink); processes that have it open keep using it.
import { SemaphoreError } from '../errors';
import { Semaphore } from '../semaphore';
import { Command, help, nameArg, quietHelp, quietOption, Values } from './args';
import { EXIT_OK, Failure, failureOf, PROGRAM, printJson, say } from './output';

function unlink([text]: string[], values: Values): number {
  const name = nameArg(text);
  try {
    Semaphore.unlink(name);
  } catch (err) {
    if (err instanceof SemaphoreError && err.code === 'ENOENT') {
      // Gone already: as rm(1), --force makes that fine; the API's advice
      // ("create it") does not fit a command that removes.
      if (values.force) return unlinked(name, false, values);
      const failure = new Failure(
        `semaphore '${name}' does not exist, so there is nothing to unlink; check the name (${PROGRAM} list), or pass --force to accept a missing name`,
        undefined,
        'ENOENT',
      );
      failure.details.semaphore = name;
      throw failure;
    }
    throw failureOf(err, name);
  }
  return unlinked(name, true, values);
}

function unlinked(name: string, existed: boolean, values: Values): number {
  if (values.json) printJson({ name, unlinked: existed });
  // Windows has no unlink: the name goes with the last handle of it (docs/platforms.md).
  else if (existed && process.platform === 'win32')
    say(`${name}: nothing to unlink on Windows, where it goes when the last process holding it closes it`);
  else say(existed ? `unlinked ${name}` : `${name} did not exist; nothing to unlink`);
  return EXIT_OK;
}

export const unlinkCommand: Command = {
  usage: 'unlink NAME [--force] [--json] [-q]',
  summary: 'remove the name (sem_unlink); processes that have it open keep using it',
  optionHelp: [
    '--force            a missing name is not an error (as rm -f)',
    '--json             one object: name, unlinked (false when --force found nothing)',
    quietHelp,
  ],
  options: { force: { type: 'boolean' }, json: { type: 'boolean' }, ...quietOption, help },
  positionals: 1,
  run: unlink,
};
