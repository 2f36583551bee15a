'use strict';
// The Externals the native layer hands to JS are type-tagged (issue 21): a
// value that is not the kind a call expects fails like a closed handle, never
// read as one (before, a waiter passed as a handle was read as a handle).
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll } = require('../support/helpers');
const { native } = require('../../dist/binding');
const { errno } = require('node:os').constants;

describe('native Externals are type-tagged', () => {
  afterEach(unlinkAll);

  it('a waiter, a plain object or a number where a handle belongs: -EBADF, no crash', () => {
    const sem = new Semaphore(uniqueName('tags'), { value: 1 });
    try {
      const handle = sem['handle'];
      const waiter = native.openWaiter(handle);
      expect(typeof waiter).to.equal('object');
      for (const wrong of [waiter, {}, 42, undefined]) {
        expect(native.getValue(wrong)).to.equal(-errno.EBADF);
        expect(native.waitKey(wrong)).to.equal(-errno.EBADF);
        expect(native.held(wrong)).to.equal(-errno.EBADF);
        expect(native.close(wrong)).to.equal(undefined);
      }
      expect(native.startWait(handle, handle, 10, () => undefined)).to.equal(-errno.EINVAL);
      expect(native.startWait(waiter, waiter, 10, () => undefined)).to.equal(-errno.EINVAL);
      native.setWanted(handle, false); // ignored
      native.closeWaiter(handle); // ignored
      native.closeWaiter(waiter);
      expect(sem.value).to.equal(1);
    } finally {
      sem.close();
    }
  });

  it('waitKey is the same small number for every handle of a semaphore, and never an address', () => {
    const name = uniqueName('keys');
    const a = new Semaphore(name, { value: 1 });
    const b = new Semaphore(name, { create: false });
    const c = new Semaphore(uniqueName('keys-other'), { value: 1 });
    try {
      const key = native.waitKey(a['handle']);
      expect(native.waitKey(b['handle'])).to.equal(key);
      expect(native.waitKey(c['handle'])).to.not.equal(key);
      expect(key)
        .to.be.above(0)
        .and.below(2 ** 32);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});
