#!/usr/bin/env node
// The `posix-semaphore` command: inspect and operate named semaphores from a
// shell, and hold one while a command runs (like flock(1)). This file is the
// entry (package.json "bin"): it splits the arguments, finds the command in
// the table, prints the help and turns the outcome into the exit status.
// Exit codes are part of the interface: 0 ok, 1 failure, 2 bad usage, 124
// timeout, and the command's own status for `run`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { normalizeName } from '../validate';
import { Command, Options, UsageError, usageMessage, Values } from './args';
import { createCommand } from './create';
import { demoCommand } from './demo/command';
import { infoCommand, listCommand } from './list';
import { EXIT_OK, EXIT_USAGE, out, printError, printJsonError, PROGRAM, setQuiet } from './output';
import { postCommand } from './post';
import { recoverCommand } from './recover';
import { runCommand } from './run';
import { topCommand } from './top';
import { unlinkCommand } from './unlink';
import { waitCommand } from './wait';

export { EXIT_FAILURE, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE } from './output';

/** The commands, in the order the help lists them. */
const COMMANDS: Record<string, Command> = {
  list: listCommand,
  info: infoCommand,
  create: createCommand,
  post: postCommand,
  wait: waitCommand,
  recover: recoverCommand,
  unlink: unlinkCommand,
  run: runCommand,
  top: topCommand,
  demo: demoCommand,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.split(' ')[0].length));
  return [
    `Usage: ${PROGRAM} COMMAND [ARGS]`,
    '',
    "Named POSIX semaphores from the shell. NAME is the semaphore's name, with or without its leading /.",
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    `Run '${PROGRAM} COMMAND --help' for a command's usage and options.`,
    '',
    'Exit status: 0 ok; 1 failure (a one-line message on stderr); 2 bad usage;',
    '124 a wait or run timed out; run exits with the status of its command.',
    'With --json, a failure is one JSON line on stderr instead, with the same status:',
    '  {"error": {"code": "ENOENT", "message": "...", "status": 1, ...}}',
    '',
    'Options:',
    '  -h, --help       this help',
    '  -v, --version    the version of posix-semaphore',
  ].join('\n');
}

function commandHelp(name: string): string {
  const c = COMMANDS[name];
  return [
    `Usage: ${PROGRAM} ${c.usage}`,
    '',
    `${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`,
    ...(c.description ? ['', c.description] : []),
    '',
    'Options:',
    ...c.optionHelp.map((line) => `  ${line}`),
    '  -h, --help         this help',
  ].join('\n');
}

/**
 * Splits `run`'s arguments into its own (NAME and options) and the command:
 * at `--`, or else at the first word after NAME, so that the command's own
 * options (`ls -l`) are never taken for ours.
 */
function splitCommand(args: string[], options: Options): [string[], string[]] {
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [args.slice(0, i), args.slice(i + 1)];
    if (arg.startsWith('-') && arg !== '-') {
      const long = arg.startsWith('--') ? arg.slice(2) : undefined;
      const option = long !== undefined ? options[long] : Object.values(options).find((o) => `-${o.short}` === arg);
      if (option?.type === 'string' && !arg.includes('=')) i++;
      continue;
    }
    if (++positionals === 2) return [args.slice(0, i), args.slice(i)];
  }
  return [args, []];
}

/** `text` as a semaphore name, or undefined when it is not a valid one. */
function nameOrUndefined(text: string): string | undefined {
  try {
    return normalizeName(text);
  } catch {
    return undefined;
  }
}

/** Runs the command line `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  let commandName: string | undefined;
  let subject: string | undefined; // the command's NAME, normalised, for --json errors
  // --json: errors too as one JSON line on stderr. run's command may have a --json of its own.
  let json = first !== 'run' && rest.includes('--json');
  setQuiet(false);
  try {
    if (first === undefined) {
      process.stderr.write(`${mainHelp()}\n`);
      return EXIT_USAGE;
    }
    if (first === '-h' || first === '--help') {
      out(mainHelp());
      return EXIT_OK;
    }
    if (first === '-v' || first === '--version') {
      out(version());
      return EXIT_OK;
    }
    if (first === 'help') {
      const topic = rest[0];
      if (topic === undefined) out(mainHelp());
      else if (Object.hasOwn(COMMANDS, topic)) out(commandHelp(topic));
      else throw new UsageError(`unknown command '${topic}'`);
      return EXIT_OK;
    }
    if (!Object.hasOwn(COMMANDS, first)) {
      throw new UsageError(first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`);
    }
    commandName = first;
    const command = COMMANDS[first];
    const [own, tail] = first === 'run' ? splitCommand(rest, command.options) : [rest, []];
    json = own.includes('--json') && 'json' in command.options;
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: own, options: command.options, allowPositionals: true, strict: true }) as typeof parsed;
    } catch (err) {
      throw new UsageError(usageMessage(err as Error, first), first);
    }
    if (parsed.values.help) {
      out(commandHelp(first));
      return EXIT_OK;
    }
    setQuiet(parsed.values.quiet === true);
    if (command.positionals > 0 && parsed.positionals.length > 0) subject = nameOrUndefined(parsed.positionals[0]);
    if (parsed.positionals.length < command.positionals) throw new UsageError(`missing NAME`, first);
    if (parsed.positionals.length > command.positionals) {
      throw new UsageError(`unexpected argument '${parsed.positionals[command.positionals]}' for '${first}'`, first);
    }
    return await command.run(parsed.positionals, parsed.values, tail);
  } catch (err) {
    return json ? printJsonError(err, commandName, subject) : printError(err, commandName);
  }
}

if (require.main === module) {
  // `posix-semaphore list | head -1`: a closed pipe is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
