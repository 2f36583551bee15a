'use strict';
// What a handle shows of itself (issue 13): pending, util.inspect and toJSON
// give { name, value, pending, closed } and never the internals.
const util = require('node:util');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll } = require('../support/helpers');

describe('pending, util.inspect and toJSON', function () {
  afterEach(unlinkAll);

  it('pending counts the acquire() calls queued on this handle', async function () {
    const sem = new Semaphore(uniqueName('pending'), { value: 1 });
    try {
      expect(sem.pending).to.equal(0);
      await sem.acquire();
      const waiting = [sem.acquire(), sem.acquire({ timeout: 30 })];
      expect(sem.pending).to.equal(2);
      await waiting[1].catch(() => undefined);
      expect(sem.pending).to.equal(1);
      sem.release();
      await waiting[0];
      expect(sem.pending).to.equal(0);
      sem.release();
    } finally {
      sem.close();
    }
  });

  it('util.inspect shows Semaphore { name, value, pending, closed } and nothing else', async function () {
    const show = (value) => util.inspect(value, { breakLength: Infinity });
    const sem = new Semaphore(uniqueName('inspect'), { value: 2 });
    expect(show(sem)).to.equal(`Semaphore { name: '${sem.name}', value: 2, pending: 0, closed: false }`);
    await sem.acquire();
    await sem.acquire();
    const waiting = sem.acquire();
    expect(show(sem)).to.equal(`Semaphore { name: '${sem.name}', value: 0, pending: 1, closed: false }`);
    expect(show({ deep: { deeper: { sem } } })).to.equal('{ deep: { deeper: { sem: [Semaphore] } } }');
    expect(util.inspect(sem, { colors: true })).to.include('\x1b['); // stylized like any object
    sem.close();
    await waiting.catch(() => undefined);
    expect(show(sem)).to.equal(`Semaphore { name: '${sem.name}', value: null, pending: 0, closed: true }`);
    expect(util.inspect(sem)).to.match(/^Semaphore \{\n {2}name: '.*',\n {2}value: null,\n {2}pending: 0,\n {2}closed: true\n\}$/); // a long name breaks lines, as for any object
  });

  it('JSON.stringify gives the same fields', function () {
    const sem = new Semaphore(uniqueName('json'), { value: 3 });
    try {
      expect(JSON.parse(JSON.stringify(sem))).to.deep.equal({ name: sem.name, value: 3, pending: 0, closed: false });
    } finally {
      sem.close();
    }
    expect(JSON.parse(JSON.stringify(sem))).to.deep.equal({ name: sem.name, value: null, pending: 0, closed: true });
  });
});
