// create: make a semaphore with a value and a mode, or leave an existing one as it is.
import { chmodSync, statSync } from 'node:fs';
import { constants } from '../binding';
import { DEFAULT_MODE } from '../validate';
import { Command, help, integerArg, modeArg, nameArg, quietHelp, quietOption, trusted, trustHelp, trustOptions, Values } from './args';
import { EXIT_OK, octal, printJson, say } from './output';
import { open, pathOf, valueOf } from './semaphores';

function create([text]: string[], values: Values): number {
  const name = nameArg(text);
  const value = integerArg(values.value as string | undefined, '--value', 0, constants.SEM_VALUE_MAX, 1);
  const mode = modeArg(values.mode as string | undefined);
  const sem = open(name, { create: true, exclusive: values.exclusive === true, value, mode: mode ?? DEFAULT_MODE, ...trusted(values) });
  try {
    const path = pathOf(name);
    // Like mkdir -m: the mode asked for, not the mode the umask leaves.
    if (sem.created && mode !== undefined && path !== undefined) chmodSync(path, mode);
    if (sem.created) {
      const shownMode = octal(mode ?? statMode(path) ?? DEFAULT_MODE);
      if (values.json) printJson({ name, created: true, value, mode: shownMode });
      else say(`created ${name} with value ${value}, mode ${shownMode}`);
    } else {
      const now = valueOf(sem);
      if (values.json) printJson({ name, created: false, value: now ?? null });
      else say(`${name} exists already${now === undefined ? '' : ` with value ${now}`}; left as it is`);
    }
  } finally {
    sem.close();
  }
  return EXIT_OK;
}

function statMode(path: string | undefined): number | undefined {
  return path === undefined ? undefined : statSync(path).mode;
}

export const createCommand: Command = {
  usage: 'create NAME [--value N] [--mode 0600] [--exclusive] [--json] [-q]',
  summary: 'create a semaphore, or leave an existing one as it is',
  optionHelp: [
    '--value N          its initial value (default 1)',
    '--mode MODE        octal permission bits, set exactly as given: the umask does not apply (default 0600)',
    '--exclusive        fail if it exists already',
    '--json             one object: name, created, value, mode',
    quietHelp,
    ...trustHelp,
  ],
  options: {
    value: { type: 'string' },
    mode: { type: 'string' },
    exclusive: { type: 'boolean' },
    json: { type: 'boolean' },
    ...quietOption,
    ...trustOptions,
    help,
  },
  positionals: 1,
  run: create,
};
