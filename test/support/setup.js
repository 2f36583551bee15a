'use strict';
// Root hooks: every run must leave /dev/shm as it found it: no semaphore or
// robust ledger of this run's names, and no temporary sem.XXXXXX that glibc's
// sem_open makes while it creates a semaphore (left by a process killed
// inside sem_open: a test that SIGKILLs a creator).
const fs = require('node:fs');
const { unlinkAll, leftovers } = require('./helpers');

const TEMPORARY = /^sem\.[A-Za-z0-9]{6}$/;
const temporaries = () => fs.readdirSync('/dev/shm').filter((f) => TEMPORARY.test(f));
let before;

exports.mochaHooks = {
  beforeAll() {
    before = new Set(temporaries());
  },
  async afterAll() {
    const left = leftovers();
    unlinkAll();
    if (left.length > 0) throw new Error(`named semaphores or robust ledgers left in /dev/shm by this run: ${left.join(', ')}`);
    // One being made right now by some other program lives for microseconds: look twice.
    const first = temporaries().filter((f) => !before.has(f));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stray = temporaries().filter((f) => first.includes(f));
    if (stray.length > 0)
      throw new Error(`glibc's temporary semaphore files left in /dev/shm during this run (a creator killed inside sem_open?): ${stray.join(', ')}`);
  },
};
