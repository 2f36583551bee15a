// recover: post back the units that dead processes took through robust
// handles (opening a robust handle does it), and say how many and from whom.
import { Command, help, nameArg, quietHelp, quietOption, trusted, trustHelp, trustOptions, Values } from './args';
import { EXIT_OK, Failure, PROGRAM, printJson, say } from './output';
import { holdersOf, open, valueOf } from './semaphores';

function recover([text]: string[], values: Values): number {
  const name = nameArg(text);
  const before = holdersOf(name);
  if (before === null)
    throw new Failure(
      `semaphore '${name}' has no robust ledger: only units taken through robust: true handles can be recovered; '${PROGRAM} post ${name}' gives back a unit by hand`,
    );
  // Opening a robust handle recovers every dead holder's units.
  const sem = open(name, { create: false, robust: true, ...trusted(values) });
  try {
    const dead = before.filter((h) => !h.alive && h.units > 0);
    const units = dead.reduce((sum, h) => sum + h.units, 0);
    const now = valueOf(sem);
    if (values.json) {
      printJson({ name, recovered: units, from: dead.map((h) => h.pid), value: now ?? null });
    } else if (units === 0) {
      say(`nothing to recover in ${name}: no dead holder held units${now === undefined ? '' : `; value ${now}`}`);
    } else {
      say(
        `recovered ${units} unit${units === 1 ? '' : 's'} of ${name} from dead pid ${dead.map((h) => h.pid).join(', ')}${now === undefined ? '' : `; value now ${now}`}`,
      );
    }
  } finally {
    sem.close();
  }
  return EXIT_OK;
}

export const recoverCommand: Command = {
  usage: 'recover NAME [--json] [-q]',
  summary: 'give back the units that dead processes held through robust handles',
  description:
    'For semaphores used with robust: true: every unit that a process which has died took\n' +
    'through a robust handle, and never posted, is posted back (info NAME lists the holders).\n' +
    'Units taken by other programs (C, non-robust handles) are not tracked: post NAME for those.',
  optionHelp: ['--json             one object: name, recovered, from (pids), value', quietHelp, ...trustHelp],
  options: { json: { type: 'boolean' }, ...quietOption, ...trustOptions, help },
  positionals: 1,
  run: recover,
};
