'use strict';
// The pure-JS queue behind acquire() (src/async/wait-queue.ts): owners, FIFO
// across owners, and what settling some of them does to the rest. No
// semaphores, no processes.
const { expect } = require('chai');
const { WaitQueue } = require('../../dist/async/wait-queue');

const settled = (promise) => promise.then(() => 'resolved', (err) => err.message);
const noTimeout = () => new Error('timeout');

describe('WaitQueue (the JS queue of waiting acquires)', () => {
  it('grants in the order of wait(), whatever the owner; oldestOwner() names who is next', async () => {
    const queue = new WaitQueue();
    const order = [];
    const owners = ['a', 'b', 'a', 'c'];
    const all = owners.map((owner, i) => queue.wait(undefined, undefined, noTimeout, owner).then(() => order.push(i)));
    for (let i = 0; i < owners.length; i++) {
      expect(queue.oldestOwner()).to.equal(owners[i]);
      expect(queue.grant(undefined)).to.equal(true);
    }
    await Promise.all(all);
    expect(order).to.deep.equal([0, 1, 2, 3]);
    expect(queue.oldestOwner()).to.equal(undefined);
    expect(queue.grant(undefined)).to.equal(false);
  });

  it('failOwnedBy() rejects one owner\'s waiters; the others keep their place; onIdle runs once the last settles', async () => {
    let idle = 0;
    const queue = new WaitQueue(() => idle++);
    const a1 = queue.wait(undefined, undefined, noTimeout, 'a');
    const b1 = queue.wait(undefined, undefined, noTimeout, 'b');
    const a2 = queue.wait(undefined, undefined, noTimeout, 'a');
    queue.failOwnedBy('a', () => new Error('closed'));
    expect(await settled(a1)).to.equal('closed');
    expect(await settled(a2)).to.equal('closed');
    expect(queue.pending).to.equal(1);
    expect(queue.oldestOwner()).to.equal('b');
    expect(idle).to.equal(0);
    queue.grant(undefined);
    expect(await settled(b1)).to.equal('resolved');
    expect(idle).to.equal(1);
  });

  it('a waiter that timed out or was aborted is skipped by oldestOwner() and grant()', async () => {
    const queue = new WaitQueue();
    const controller = new AbortController();
    const gone = queue.wait(undefined, controller.signal, noTimeout, 'a');
    const late = queue.wait(0, undefined, noTimeout, 'b');
    const next = queue.wait(undefined, undefined, noTimeout, 'c');
    controller.abort();
    expect(await settled(gone)).to.equal('The operation was aborted');
    expect(await settled(late)).to.equal('timeout');
    expect(queue.oldestOwner()).to.equal('c');
    queue.grant(undefined);
    expect(await settled(next)).to.equal('resolved');
  });
});
