// A child process of smoke.mjs: blocks in wait() on PING until its parent
// posts it, then posts PONG.
import Semaphore from '../../esm/index.mjs';

const [ping, pong] = process.argv.slice(-2);
const a = new Semaphore(ping, { create: false });
const b = new Semaphore(pong, { create: false });
a.wait();
b.post();
a.close();
b.close();
