// recover: post back the units that dead processes took through robust
// handles (opening a robust handle does it), and say how many and from whom.
import { Command, help, nameArg, quietHelp, quietOption, trusted, trustHelp, trustOptions, Values } from './args';
import { EXIT_OK, Failure, PROGRAM, printJson, say } from './output';
import { holdersOf, open, recoverThrough, valueOf } from './semaphores';

function recover([text]: string[], values: Values): number {
  const name = nameArg(text);
  const before = holdersOf(name);
  if (before === null)
    throw new Failure(
      `semaphore '${name}' has no robust ledger: only units taken through robust: true handles can be recovered; '${PROGRAM} post ${name}' gives back a unit by hand`,
    );
  // A plain handle and the ledger opened for this call only: no slot of ours,
  // and the count is what this call really posted (to this semaphore only).
  const sem = open(name, { create: false, ...trusted(values) });
  try {
    const posted = recoverThrough(sem);
    const dead = before.filter((h) => !h.alive && h.units > 0).map((h) => h.pid);
    const now = valueOf(sem);
    if (values.json) {
      printJson({ name, recovered: posted, from: posted === 0 ? [] : dead, value: now ?? null });
    } else if (posted === 0) {
      say(`nothing to recover in ${name}: no dead holder held units${now === undefined ? '' : `; value ${now}`}`);
    } else {
      say(
        `recovered ${posted} unit${posted === 1 ? '' : 's'} of ${name}${dead.length === 0 ? '' : ` from dead pid ${dead.join(', ')}`}${now === undefined ? '' : `; value now ${now}`}`,
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
