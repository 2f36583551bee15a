// Where a named semaphore lives on Linux: glibc's sem_open("/NAME") maps the
// file /dev/shm/sem.NAME. The one place that spells that path and the size
// below which such a file cannot be a semaphore.

/** The directory of POSIX shared memory, where glibc keeps named semaphores. */
export const SHM_DIR = '/dev/shm';

/** What glibc puts before a semaphore's name in its file's name. */
export const SEM_FILE_PREFIX = 'sem.';

/**
 * sizeof(sem_t) on glibc x86-64/aarch64: a smaller file is not a semaphore,
 * and mapping it would fault (SIGBUS).
 */
export const SEM_SIZE = 32;

/** The file of the semaphore `name` (normalised, with its leading '/') on Linux: /dev/shm/sem.NAME. */
export function semaphoreFile(name: string): string {
  return `${SHM_DIR}/${SEM_FILE_PREFIX}${name.slice(1)}`;
}

/** The semaphore name ('/NAME') of a file name of /dev/shm ('sem.NAME'), or undefined when it names no semaphore. */
export function semaphoreOfFile(file: string): string | undefined {
  return file.startsWith(SEM_FILE_PREFIX) && file.length > SEM_FILE_PREFIX.length ? `/${file.slice(SEM_FILE_PREFIX.length)}` : undefined;
}
