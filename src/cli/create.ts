// create: make a semaphore with a value and a mode, or leave an existing one as it is.
import { chmodSync, statSync } from 'node:fs';
import { constants } from '../binding';
import { DEFAULT_MODE } from '../validate';
import { Command, help, integerArg, modeArg, nameArg, quietHelp, quietOption, trusted, trustHelp, trustOptions, Values } from './args';
import { EXIT_OK, octal, printJson, say } from './output';
import { open, pathOf, valueOf } from './semaphores';

// Windows removes a named semaphore with the last handle of it: without a
// process holding it, what `create` made is gone when it exits.
const WINDOWS = process.platform === 'win32';

function create([text]: string[], values: Values): number | Promise<number> {
  const name = nameArg(text);
  const value = integerArg(values.value as string | undefined, '--value', 0, constants.SEM_VALUE_MAX, 1);
  const mode = modeArg(values.mode as string | undefined);
  const sem = open(name, { create: true, exclusive: values.exclusive === true, value, mode: mode ?? DEFAULT_MODE, ...trusted(values) });
  let holding = false;
  try {
    const path = pathOf(name);
    // Like mkdir -m: the mode asked for, not the mode the umask leaves.
    if (sem.created && mode !== undefined && path !== undefined) chmodSync(path, mode);
    if (sem.created) {
      const shownMode = octal(mode ?? statMode(path) ?? DEFAULT_MODE);
      if (values.json) printJson({ name, created: true, value, mode: WINDOWS ? null : shownMode });
      else say(`created ${name} with value ${value}${WINDOWS ? '' : `, mode ${shownMode}`}${WINDOWS && !values.hold ? windowsNote : ''}`);
    } else {
      const now = valueOf(sem);
      if (values.json) printJson({ name, created: false, value: now ?? null });
      else say(`${name} exists already${now === undefined ? '' : ` with value ${now}`}; left as it is`);
    }
    if (values.hold) {
      holding = true;
      return hold(sem);
    }
  } finally {
    if (!holding) sem.close();
  }
  return EXIT_OK;
}

const windowsNote = '; Windows removes it when this command exits unless a process holds it open (create --hold keeps it)';

/** --hold: keeps the handle open until SIGINT (Ctrl-C) or SIGTERM, then closes it and exits 0. */
function hold(sem: { close(): void }): Promise<number> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stop = (): void => {
      clearInterval(keepAlive);
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      sem.close();
      resolve(EXIT_OK);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // Only once the listeners are there: whoever reads this line may signal at once.
    say(`holding it open until interrupted (Ctrl-C)`);
  });
}

function statMode(path: string | undefined): number | undefined {
  return path === undefined ? undefined : statSync(path).mode;
}

export const createCommand: Command = {
  usage: 'create NAME [--value N] [--mode 0600] [--exclusive] [--hold] [--json] [-q]',
  summary: 'create a semaphore, or leave an existing one as it is',
  optionHelp: [
    '--value N          its initial value (default 1)',
    '--mode MODE        octal permission bits, set exactly as given: the umask does not apply (default 0600)',
    '--exclusive        fail if it exists already',
    '--hold             then keep it open until interrupted: on Windows a semaphore lives only while some process holds it',
    '--json             one object: name, created, value, mode',
    quietHelp,
    ...trustHelp,
  ],
  options: {
    value: { type: 'string' },
    mode: { type: 'string' },
    exclusive: { type: 'boolean' },
    hold: { type: 'boolean' },
    json: { type: 'boolean' },
    ...quietOption,
    ...trustOptions,
    help,
  },
  positionals: 1,
  run: create,
};
