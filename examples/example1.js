const Semaphore = require('posix-semaphore');

const sem = new Semaphore('mySemaphore');
sem.wait();

/* my code using shared resources 😎 */

sem.post();
// other processes are now free to use the resources

// close the semaphore for the process
sem.close();

// remove the semaphore from the system
sem.unlink();
