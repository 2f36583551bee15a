// Where a named semaphore lives on Linux: glibc's sem_open("/NAME") maps the
// file /dev/shm/sem.NAME, and a robust one keeps its ledger in
// /dev/shm/psem.NAME. The one place in src/ that spells those paths (the size
// below which a file cannot be a semaphore is the addon's constants.SEM_SIZE,
// sizeof(sem_t)).

/** The directory of POSIX shared memory, where glibc keeps named semaphores. */
export const SHM_DIR = '/dev/shm';

/** What glibc puts before a semaphore's name in its file's name. */
export const SEM_FILE_PREFIX = 'sem.';

/** The file of the semaphore `name` (normalised, with its leading '/') on Linux: /dev/shm/sem.NAME. */
export function semaphoreFile(name: string): string {
  return `${SHM_DIR}/${SEM_FILE_PREFIX}${name.slice(1)}`;
}

/** The semaphore name ('/NAME') of a file name of /dev/shm ('sem.NAME'), or undefined when it names no semaphore. */
export function semaphoreOfFile(file: string): string | undefined {
  return file.startsWith(SEM_FILE_PREFIX) && file.length > SEM_FILE_PREFIX.length ? `/${file.slice(SEM_FILE_PREFIX.length)}` : undefined;
}

/** What a robust semaphore's ledger puts before the semaphore's name in its file's name. */
export const LEDGER_FILE_PREFIX = 'psem.';

/** The robust ledger of the semaphore `name` (normalised) on Linux: /dev/shm/psem.NAME. */
export function ledgerFile(name: string): string {
  return `${SHM_DIR}/${LEDGER_FILE_PREFIX}${name.slice(1)}`;
}
