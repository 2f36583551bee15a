// run: hold one unit while a command runs, like flock(1), and exit with its
// status; signals are forwarded to the command, but never twice.
import { spawn } from 'node:child_process';
import { constants } from '../binding';
import { procStat } from '../system/proc';
import { Command, help, integerArg, nameArg, quietOption, timeoutArg, trusted, trustHelp, trustOptions, UsageError, Values } from './args';
import { EXIT_FAILURE, PROGRAM } from './output';
import { open } from './semaphores';
import { acquireInterruptibly, FORWARDED_SIGNALS, ForwardedSignal, signalStatus } from './wait';

/**
 * true when the terminal already sent `signal` to the command: SIGINT (Ctrl-C)
 * and SIGHUP go to the whole foreground process group, which the command
 * shares with us. Forwarding it again would deliver it twice, and many
 * programs take a second Ctrl-C as "quit now, skip the clean-up".
 */
function terminalDelivered(signal: ForwardedSignal, childPid: number): boolean {
  if (signal === 'SIGTERM' || process.platform !== 'linux') return false;
  const self = procStat('self');
  const child = procStat(childPid);
  return self !== undefined && child !== undefined && self.tpgid > 0 && self.tpgid === self.pgrp && child.pgrp === self.pgrp;
}

async function runHolding([text]: string[], values: Values, command: string[]): Promise<number> {
  const name = nameArg(text);
  const timeout = timeoutArg(values.timeout as string | undefined);
  const value = integerArg(values.value as string | undefined, '--value', 0, constants.SEM_VALUE_MAX, 1);
  if (command.length === 0) throw new UsageError('missing COMMAND: run NAME -- COMMAND [ARG...]', 'run');
  // releaseOnExit: should this process die of an uncaught error, the unit goes back.
  const sem = open(name, { create: true, value, releaseOnExit: true, ...trusted(values) });
  try {
    const interrupted = await acquireInterruptibly(sem, timeout);
    if (interrupted !== undefined) return signalStatus(interrupted);
    try {
      return await spawnHolding(command);
    } finally {
      sem.release();
    }
  } finally {
    sem.close();
  }
}

/** Runs the command with our stdio, forwarding signals; resolves to its exit status. */
function spawnHolding([file, ...args]: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    const forward = (signal: ForwardedSignal): void => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null && !terminalDelivered(signal, child.pid)) {
        child.kill(signal);
      }
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const done = (status: number): void => {
      for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, forward);
      resolve(status);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Like a shell: 127 when there is no such command, 126 when it cannot run.
      const notFound = err.code === 'ENOENT';
      process.stderr.write(`${PROGRAM}: cannot run '${file}': ${notFound ? 'command not found' : err.message}\n`);
      done(notFound ? 127 : 126);
    });
    child.on('exit', (code, signal) => done(signal !== null ? signalStatus(signal) : (code ?? EXIT_FAILURE)));
  });
}

export const runCommand: Command = {
  usage: 'run NAME [--timeout MS] [--value N] [-q] -- COMMAND [ARG...]',
  summary: 'hold one unit while COMMAND runs, like flock(1), and exit with its status',
  description:
    'Takes one unit (creating the semaphore with --value if it does not exist), runs COMMAND\n' +
    'with this terminal, and gives the unit back when COMMAND ends, however it ends.\n' +
    'SIGINT, SIGTERM and SIGHUP are forwarded to COMMAND; a Ctrl-C at the terminal reaches it\n' +
    'directly and is not sent twice.\n\n' +
    "Exit status: COMMAND's; 128+N if signal N killed it; 124 if the timeout ran out before\n" +
    'the semaphore was free; 127 if COMMAND was not found.',
  optionHelp: [
    '--timeout MS       give up waiting after MS milliseconds (exit 124)',
    '--value N          the initial value if this call creates the semaphore (default 1)',
    '-q, --quiet        accepted for flock(1) users: run prints nothing of its own on success anyway',
    ...trustHelp,
  ],
  options: { timeout: { type: 'string' }, value: { type: 'string' }, ...quietOption, ...trustOptions, help },
  positionals: 1,
  run: runHolding,
};
