// Squatting. /dev/shm is shared by every user of the host: another user can
// create `sem.jobs` first, with mode 0666, and post at will, and mutual
// exclusion is gone. So an existing semaphore is opened only when its file
// belongs to this process's effective user, to root, or to a user or group
// the caller trusts.
import { SemaphoreError } from './errors';
import { groupName, userName } from './system/users';

/** Users and groups, by id or name, whose semaphores may be opened besides our own and root's. */
export interface Trust {
  users: ReadonlyArray<number | string>;
  groups: ReadonlyArray<number | string>;
}

/**
 * The error for a semaphore owned by `uid`/`gid` that `trust` does not
 * cover, or undefined when it may be used. -1: owner unknown (not Linux, or
 * the name vanished under the open), nothing to check.
 */
export function untrustedOwner(semaphore: string, uid: number, gid: number, trust: Trust): SemaphoreError | undefined {
  if (uid < 0 || uid === 0) return undefined;
  const self = process.geteuid?.();
  if (self === undefined || uid === self) return undefined;
  if (trust.users.length > 0 && (trust.users.includes(uid) || trust.users.includes(userName(uid)))) return undefined;
  if (trust.groups.length > 0 && (trust.groups.includes(gid) || trust.groups.includes(groupName(gid)))) return undefined;
  const owner = userName(uid);
  return new SemaphoreError('ERR_SEMAPHORE_UNTRUSTED', {
    syscall: 'sem_open',
    semaphore,
    owner: { uid, gid },
    message:
      `semaphore '${semaphore}' belongs to user '${owner}' (uid ${uid}), not to this process's user ` +
      `'${userName(self)}' (uid ${self})${self === 0 ? '' : ' or root'}, so that user could post it at will; ` +
      `pass trustedUsers: ['${owner}'] if that user is trusted`,
  });
}
