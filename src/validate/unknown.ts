// Option names the API does not know: a misspelt `{ timout: 10 }` would
// otherwise be ignored in silence (and the acquire wait for ever). Each
// unknown name gets one process warning, code POSIX_SEMAPHORE_UNKNOWN_OPTION,
// the first time it is seen for that call; the call goes on as if the name
// were absent (never a throw: an option added by a later version must not
// break code run with an earlier one).

export const UNKNOWN_OPTION = 'POSIX_SEMAPHORE_UNKNOWN_OPTION';

const warned = new Set<string>();

/** Levenshtein distance, for "did you mean" (names are short). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * Warns once per process for each own enumerable key of `options` that is
 * not in `known`; `call` names the call in the message (`acquire()`).
 */
export function warnUnknownOptions(options: Record<string, unknown>, known: readonly string[], call: string): void {
  for (const key in options) {
    if (!Object.prototype.hasOwnProperty.call(options, key) || known.includes(key)) continue;
    const id = `${call}\0${key}`;
    if (warned.has(id)) continue;
    warned.add(id);
    // The nearest known name within a third of its length (two edits for 'value').
    const near = known
      .map((k) => ({ k, d: distance(key, k) }))
      .filter(({ k, d }) => d <= Math.ceil(k.length / 3))
      .sort((a, b) => a.d - b.d)[0]?.k;
    const hint = near !== undefined ? `; did you mean '${near}'?` : `; it knows ${known.map((k) => `'${k}'`).join(', ')}`;
    process.emitWarning(`posix-semaphore: unknown option '${key}' of ${call}, ignored${hint}`, {
      type: 'Warning',
      code: UNKNOWN_OPTION,
    });
  }
}
