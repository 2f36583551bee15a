'use strict';
// Memory: long runs of the same work leave the process's RSS, V8 heap, its
// mappings of /dev/shm and its file descriptors flat. Each kind of work runs
// in its own child (node --expose-gc test/fixtures/memory-cycles.js), which
// samples after a full GC at every tenth of the way; growth is measured from
// the half-way sample (warm-up over) to the end.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, runToEnd } = require('../support/helpers');
const { MB, HANDLE_CHURN_RSS, growth, report } = require('../support/cycles');

async function cycles(phase, count) {
  const sem = new Semaphore(uniqueName(`memory-${phase}`), { value: 1 });
  try {
    const { code, stdout, stderr } = await runToEnd('memory-cycles.js', [sem.name, phase, ...(count ? [String(count)] : [])], {
      nodeArgs: ['--expose-gc'],
    });
    expect(code, stderr).to.equal(0);
    const result = JSON.parse(stdout.trim().split('\n').pop());
    expect(result.value, 'value at the end').to.equal(1);
    expect(sem.value).to.equal(1);
    return result;
  } finally {
    sem.close();
  }
}

function expectFlat(result, { rss, heap = 1 * MB }) {
  const line = report(result);
  for (const s of result.samples) {
    expect(s.maps, `${line}: /dev/shm mappings at ${s.at}`).to.equal(result.samples[0].maps);
    expect(s.fds, `${line}: file descriptors at ${s.at}`).to.equal(result.samples[0].fds);
    expect(s.handles, `${line}: native handles at ${s.at}`).to.equal(result.samples[0].handles);
  }
  expect(growth(result, 'rss'), `${line}: RSS`).to.be.below(rss);
  expect(growth(result, 'heapUsed'), `${line}: V8 heap`).to.be.below(heap);
}

describe('memory', function () {
  this.timeout(60000);
  afterEach(unlinkAll);

  it('1,000,000 acquire()/release() cycles: RSS, heap, mappings and fds flat', async () => {
    const result = await cycles('acquire');
    expect(result.cycles).to.equal(1_000_000);
    // A leak of 8 bytes a cycle would show: growth is measured over the
    // second half, 500,000 cycles × 8 B = 3.8 MB, above the 2 MB allowed
    // (measured: under 0.2 MB). With 4 MB allowed it would have passed.
    expectFlat(result, { rss: 2 * MB });
  });

  it("100,000 open/close cycles: native handles, heap, mappings and fds flat; RSS within Node-API's churn", async () => {
    const result = await cycles('open');
    expect(result.cycles).to.equal(100_000);
    expect(result.samples[0].maps).to.equal(1); // the fixture's own handle: each close() unmapped its copy
    expect(result.samples[0].handles).to.equal(1); // and its native handle: every other one was finalised
    expectFlat(result, { rss: HANDLE_CHURN_RSS });
  });

  it('20,000 handles dropped without close(): the finaliser frees and unmaps each; flat', async () => {
    const result = await cycles('dropped');
    expectFlat(result, { rss: HANDLE_CHURN_RSS });
  });

  it('40,000 hand-offs through the threadpool (a waiting acquire() woken by a post): flat', async () => {
    const result = await cycles('handoff');
    expectFlat(result, { rss: 4 * MB });
  });

  // Before 8646850 each one stayed in the handle's queue (~1.2 kB) until a unit was granted or the handle closed.
  it('20,000 acquire({ timeout: 1 }) timing out while the semaphore stays taken: flat', async () => {
    const result = await cycles('timeout');
    expectFlat(result, { rss: 8 * MB });
  });
});
