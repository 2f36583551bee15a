import { writeSync } from 'node:fs';

// NODE_DEBUG=posix-semaphore (or a pattern that matches it, like Node's util.debuglog).
function enabledByEnv(): boolean {
  const value = process.env.NODE_DEBUG ?? '';
  return value.split(/[\s,]+/).some((pattern) => {
    if (pattern === '') return false;
    const re = new RegExp(`^${pattern.replace(/[|\\{}()[\]^$+?.]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
    return re.test('posix-semaphore');
  });
}

/** true when NODE_DEBUG names this package: every handle logs. */
export const debugFromEnv = enabledByEnv();

/**
 * One line on stderr, written synchronously: a sync wait() that follows may
 * block the thread before an asynchronous write would have been flushed.
 */
export function debugLog(name: string, message: string): void {
  try {
    writeSync(2, `[posix-semaphore] ${process.pid} ${name}: ${message}\n`);
  } catch {
    // stderr closed: nothing to tell.
  }
}
