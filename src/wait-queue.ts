// Moved to src/async/wait-queue.ts; kept for the Redis class's import.
export { abortError, WaitQueue } from './async/wait-queue';
