'use strict';
// Root hooks: every run must leave /dev/shm as it found it.
const { unlinkAll, leftovers } = require('./helpers');

exports.mochaHooks = {
  afterAll() {
    const left = leftovers();
    unlinkAll();
    if (left.length > 0) throw new Error(`named semaphores or robust ledgers left in /dev/shm by this run: ${left.join(', ')}`);
  },
};
