'use strict';
// diagnostics_channel tracing (issue 13): a subscriber to
// posix-semaphore:acquire and posix-semaphore:wait sees each call's events,
// in order, with the name, the options, the outcome and the time waited, in
// the main thread and in a worker; with no subscriber nothing is published.
const diagnostics = require('node:diagnostics_channel');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, FIXTURES } = require('../support/helpers');
const { runScenarios, record } = require('../fixtures/tracing-scenarios');

/** Each event as "channel event outcome", the outcome '-' while unknown. */
const sequence = (events) => events.map((e) => `${e.channel} ${e.event} ${e.outcome ?? '-'}`);

const EXPECTED = {
  'acquire: success': ['acquire start -', 'acquire end -', 'acquire asyncStart acquired', 'acquire asyncEnd acquired'],
  'acquire: success after waiting': [
    'wait start -',
    'wait end acquired',
    'acquire start -',
    'acquire end -',
    'acquire asyncStart acquired',
    'acquire asyncEnd acquired',
  ],
  'acquire: timeout': ['acquire start -', 'acquire end -', 'acquire error timeout', 'acquire asyncStart timeout', 'acquire asyncEnd timeout'],
  'acquire: abort': ['acquire start -', 'acquire end -', 'acquire error aborted', 'acquire asyncStart aborted', 'acquire asyncEnd aborted'],
  'acquire: close': ['acquire start -', 'acquire end -', 'acquire error closed', 'acquire asyncStart closed', 'acquire asyncEnd closed'],
  'wait: success': ['wait start -', 'wait end acquired'],
  'tryWait: busy': ['wait start -', 'wait error busy', 'wait end busy'],
  'timedWait: timeout': ['wait start -', 'wait error timeout', 'wait end timeout'],
  'tryAcquire: busy': ['wait start -', 'wait end busy'],
  'tryAcquire: success': ['wait start -', 'wait end acquired'],
  'wait: closed': ['wait start -', 'wait error closed', 'wait end closed'],
};

/** The checks shared by the main thread and the worker. */
function checkScenarios({ steps, elapsed }) {
  for (const [label, expected] of Object.entries(EXPECTED)) {
    const events = steps[label];
    expect(sequence(events), label).to.deep.equal(expected);
    for (const e of events) {
      // One context object per call, from start to asyncEnd.
      const call = label === 'acquire: success after waiting' && e.channel === 'acquire' ? 1 : 0;
      expect(e.context, `${label}: ${e.event}`).to.equal(call);
    }
    const last = events[events.length - 1];
    // The call's own time, as its caller saw it, bounds it from above.
    expect(last.waitedMs, `${label}: waitedMs`).to.be.a('number').and.at.least(0).and.at.most(elapsed[label]);
  }
  const waited = (label) => steps[label].at(-1).waitedMs;
  expect(waited('acquire: success after waiting')).to.be.at.least(50); // posted after 60 ms
  expect(waited('acquire: timeout')).to.be.at.least(55);
  expect(waited('acquire: abort')).to.be.at.least(25);
  expect(waited('timedWait: timeout')).to.be.at.least(55);
  expect(waited('tryWait: busy')).to.be.below(50);
  // The options as given.
  expect(steps['acquire: timeout'][0].options).to.deep.equal({ timeout: 60 });
  expect(steps['acquire: abort'][0].options).to.deep.equal({ signal: 'signal' });
  expect(steps['acquire: success'][0].options).to.equal(undefined);
  expect(steps['timedWait: timeout'][0].options).to.deep.equal({ timeout: 60 });
  expect(steps['wait: success'][0].options).to.deep.equal({});
  expect(steps['acquire: timeout'].at(-1).code).to.equal('ETIMEDOUT');
  expect(steps['acquire: abort'].at(-1).code).to.equal('ABORT_ERR');
  expect(steps['acquire: close'].at(-1).code).to.equal('ERR_SEMAPHORE_CLOSED');
  expect(steps['tryWait: busy'].at(-1).code).to.equal('EAGAIN');
  expect(steps.pendingBeforeClose).to.equal(1);
}

describe('tracing (diagnostics_channel)', function () {
  afterEach(unlinkAll);

  it('publishes start, end, asyncStart, asyncEnd and error in order for success, timeout, abort and close (main thread)', async function () {
    const name = uniqueName('trace-main');
    const result = await runScenarios(name);
    expect(result.thread).to.equal('main');
    checkScenarios(result);
  });

  it('publishes the same events to a subscriber in a worker thread', async function () {
    const name = uniqueName('trace-worker');
    const worker = new Worker(path.join(FIXTURES, 'tracing-scenarios.js'), { workerData: { tracingScenarios: true, name } });
    const result = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(result.error, result.error).to.equal(undefined);
    expect(result.thread).to.equal('worker');
    checkScenarios(result);
  });

  it('the context carries the semaphore name and the very options object passed', async function () {
    const sem = new Semaphore(uniqueName('trace-context'), { value: 1 });
    const seen = [];
    const handlers = { start: (context) => seen.push(context) };
    diagnostics.tracingChannel('posix-semaphore:acquire').subscribe(handlers);
    try {
      const options = { timeout: 1000 };
      await sem.acquire(options);
      sem.release();
      await sem.withLock(() => undefined, options);
      const mine = seen.filter((c) => c.semaphore === sem.name);
      expect(mine).to.have.length(2);
      for (const context of mine) {
        expect(context.options).to.equal(options);
        expect(context.operation).to.equal('acquire');
      }
    } finally {
      diagnostics.tracingChannel('posix-semaphore:acquire').unsubscribe(handlers);
      sem.close();
    }
  });

  it('a subscriber to one event only (asyncEnd) is enough to be traced', async function () {
    const sem = new Semaphore(uniqueName('trace-one'), { value: 1 });
    const outcomes = [];
    const handlers = { asyncEnd: (context) => context.semaphore === sem.name && outcomes.push(context.outcome) };
    const channel = diagnostics.tracingChannel('posix-semaphore:acquire');
    channel.subscribe(handlers);
    try {
      await sem.acquire();
      await sem.acquire({ timeout: 0 }).catch(() => undefined);
      expect(outcomes).to.deep.equal(['acquired', 'timeout']);
    } finally {
      channel.unsubscribe(handlers);
      sem.release();
      sem.close();
    }
  });

  it('publishes nothing once the subscriber is gone', async function () {
    const name = uniqueName('trace-none');
    const sem = new Semaphore(name, { value: 1 });
    const events = [];
    const stop = [record('posix-semaphore:acquire', name, events, []), record('posix-semaphore:wait', name, events, [])];
    for (const unsubscribe of stop) unsubscribe();
    try {
      expect(diagnostics.tracingChannel('posix-semaphore:acquire').start.hasSubscribers).to.equal(false);
      await sem.acquire();
      sem.release();
      sem.wait();
      sem.post();
      expect(sem.tryAcquire()).to.equal(true);
      sem.release();
      expect(events).to.deep.equal([]);
    } finally {
      sem.close();
    }
  });
});
