'use strict';
// The short soak (`npm run soak` is the long one): 4 processes mix every
// kind of wait on one semaphore; never more than `value` holders inside at
// once, no update lost, and the initial value back at the end.
const { expect } = require('chai');
const { soak, summary } = require('../../scripts/lib/soak');
const { uniqueName, unlinkAll } = require('../support/helpers');

const OPS = 1500; // per process
const PATHS = [
  'wait:ok',
  'tryWait:ok',
  'timedWait:ok',
  'acquire:ok',
  'acquireAbort:ABORT_ERR',
  'tryAcquire:true',
  'withLock:ok',
  'burst:ok',
  'closeWhileWaiting:ok',
];

async function check(value) {
  const report = await soak({ value, processes: 4, ops: OPS, name: uniqueName(`soak-${value}`), stallMs: 10000 });
  const line = summary(report);
  expect(report.failures, line).to.deep.equal([]);
  expect(report.deadlock, line).to.equal(false);
  expect(report.operations, line).to.equal(4 * OPS);
  expect(report.violations, line).to.equal(0);
  expect(report.maxInside, line).to.be.at.most(value);
  expect(report.insideAtEnd, line).to.equal(0);
  if (value === 1) expect(report.lostUpdates, line).to.equal(0);
  else expect(report.maxInside, `${line}: the holders never overlapped, the soak proves little`).to.be.at.least(2);
  expect(report.finalValue, line).to.equal(value);
  expect(report.grants, line).to.be.above(OPS);
  // Every path was taken: sync, async, timeouts, aborts, close.
  for (const key of PATHS) expect(report.counts[key] ?? 0, `${key} never happened: ${JSON.stringify(report.counts)}`).to.be.above(0);
  expect(report.ok, line).to.equal(true);
}

describe('soak (short)', function () {
  this.timeout(90000);
  afterEach(unlinkAll);

  // Before 4b8906d value 1 deadlocked within a few thousand operations: a
  // unit a wait slice took as its acquire() was being rejected reached JS
  // only after the next sync wait() had blocked the thread.
  for (const value of [1, 3]) {
    it(`value ${value}: 4 processes × ${OPS} mixed operations, 0 violations, value restored`, async () => {
      await check(value);
    });
  }

  it('the checker catches a semaphore that grants one unit too many', async () => {
    const report = await soak({ value: 1, processes: 4, ops: 300, name: uniqueName('soak-broken'), injectExtraUnit: true });
    expect(report.violations).to.be.above(0);
    expect(report.maxInside).to.equal(2);
    expect(report.lostUpdates).to.be.above(0);
    expect(report.finalValue).to.equal(2);
    expect(report.ok).to.equal(false);
  });
});
