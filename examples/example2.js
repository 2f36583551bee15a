const Semaphore = require('posix-semaphore');

const sem = new Semaphore('mySemaphore');
try {
  sem.tryWait();

  /* my code using shared resources 😎 */

  sem.post();
  // other processes are now free to use the resources
} catch (e) {
  console.error(e);
} finally {
  // close and remove the semaphore from the system
  sem.close();
  sem.unlink();
}
