// User and group names of this host, from /etc/passwd and /etc/group: for
// error messages, the CLI, and the trustedUsers/trustedGroups options.
import { readFileSync } from 'node:fs';

type IdFile = '/etc/passwd' | '/etc/group';
const namesByFile = new Map<IdFile, Map<number, string>>();

function names(file: IdFile): Map<number, string> {
  let map = namesByFile.get(file);
  if (map === undefined) {
    map = new Map();
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const fields = line.split(':');
        if (fields.length >= 3 && !map.has(Number(fields[2]))) map.set(Number(fields[2]), fields[0]);
      }
    } catch {
      // No such file (a minimal container): numbers it is.
    }
    namesByFile.set(file, map);
  }
  return map;
}

/** The user name of `uid`, or the number as a string when unknown. */
export function userName(uid: number): string {
  return names('/etc/passwd').get(uid) ?? String(uid);
}

/** The group name of `gid`, or the number as a string when unknown. */
export function groupName(gid: number): string {
  return names('/etc/group').get(gid) ?? String(gid);
}
