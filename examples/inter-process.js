// The original README's inter-process example, as it was. It needs
// shm-typed-array (shared memory), which posix-semaphore does not depend on:
//   npm install shm-typed-array      (a native addon: needs a C++ compiler)
// Run it with: node examples/inter-process.js
const cluster = require('cluster');
const Semaphore = require('posix-semaphore');
const shm = require('shm-typed-array');

function parentProcess() {
  const semParent = new Semaphore('mySemaphore', { debug: true });
  const bufParent = shm.create(4096);
  // we get the lock
  semParent.wait();

  // we create the child process
  const child = cluster.fork({ SHM_KEY: bufParent.key });

  // we write some data to the shared memory segment
  bufParent.write('hi there :)');
  // we release the lock
  semParent.post();

  // we close the child after a second
  setTimeout(() => {
    child.kill('SIGINT');
  }, 1000);
}

function childProcess() {
  const semChild = new Semaphore('mySemaphore', { debug: true });
  const shmKey = parseInt(process.env.SHM_KEY);
  const bufChild = shm.get(shmKey);

  // we get the lock, will block until the parent has released
  semChild.wait();
  // should print 'hi there :)'
  console.log(bufChild.toString());
}

if (cluster.isMaster) {
  parentProcess();
} else if (cluster.isWorker) {
  childProcess();
}
