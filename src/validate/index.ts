// Argument checks, none of which loads the native addon: the POSIX class,
// posix-semaphore/redis and the CLI share them.
export { TIMEOUT_MAX, validateAcquireOptions, validateBoolean, validateInteger, validateObject, validateTimeout } from './checks';
export { DEFAULT_MODE, MODE_MAX, parseMode, validateMode } from './mode';
export { DARWIN_NAME_MAX_BYTES, NAME_MAX_BYTES, normalizeName } from './name';
export { resolveOptions } from './options';
export type { ResolvedOptions } from './options';
export { UNKNOWN_OPTION, warnUnknownOptions } from './unknown';
