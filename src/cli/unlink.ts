// unlink: remove a name (sem_unlink); processes that have it open keep using it.
import { Semaphore } from '../semaphore';
import { Command, help, nameArg, quietHelp, quietOption, Values } from './args';
import { EXIT_OK, failureOf, printJson, say } from './output';

function unlink([text]: string[], values: Values): number {
  const name = nameArg(text);
  try {
    Semaphore.unlink(name);
  } catch (err) {
    throw failureOf(err, name);
  }
  if (values.json) printJson({ name, unlinked: true });
  // Windows has no unlink: the name goes with the last handle of it (docs/platforms.md).
  else
    say(
      process.platform === 'win32'
        ? `${name}: nothing to unlink on Windows, where it goes when the last process holding it closes it`
        : `unlinked ${name}`,
    );
  return EXIT_OK;
}

export const unlinkCommand: Command = {
  usage: 'unlink NAME [--json] [-q]',
  summary: 'remove the name (sem_unlink); processes that have it open keep using it',
  optionHelp: ['--json             one object: name, unlinked', quietHelp],
  options: { json: { type: 'boolean' }, ...quietOption, help },
  positionals: 1,
  run: unlink,
};
