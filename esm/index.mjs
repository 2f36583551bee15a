// The ESM entry. It re-exports the CommonJS build rather than a second copy,
// so that ESM and CJS users in one process share one class, one native
// binding and one exit listener (no dual-package hazard).
import Semaphore from '../dist/index.js';

export default Semaphore;
export { Semaphore };
export const { SemaphoreError, AbortError } = Semaphore;
