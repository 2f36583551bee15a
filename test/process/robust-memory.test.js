'use strict';
// Memory of robust handles (issue 12), measured the way memory.test.js
// measures plain ones: each kind of work runs in its own child
// (node --expose-gc test/fixtures/robust-cycles.js), sampled after a full GC
// at every tenth of the way; growth is measured from the half-way sample to
// the end. File descriptors and /dev/shm mappings (semaphore and ledger)
// must not move at all, nor the ledger file's size.
const { expect } = require('chai');
const { Semaphore, uniqueName, unlinkAll, runToEnd } = require('../support/helpers');
const { ledgerHolders } = require('../support/robust');
const { MB, HANDLE_CHURN_RSS, growth, report } = require('../support/cycles');

const LEDGER_SIZE = 64 + 128 * 16;

async function cycles(phase, count) {
  const sem = new Semaphore(uniqueName(`robust-memory-${phase}`), { value: 1, robust: true });
  try {
    const { code, stdout, stderr } = await runToEnd('robust-cycles.js', [sem.name, phase, ...(count ? [String(count)] : [])], {
      nodeArgs: ['--expose-gc'],
    });
    expect(code, stderr).to.equal(0);
    const result = JSON.parse(stdout.trim().split('\n').pop());
    expect(result.value, 'value at the end').to.equal(1);
    expect(result.slotsOfThisProcess, 'ledger slots the child still claims after closing every handle').to.equal(0);
    expect(sem.value).to.equal(1);
    expect(ledgerHolders(sem.name).filter((h) => h.units !== 0)).to.deep.equal([]);
    return result;
  } finally {
    sem.close();
  }
}

function expectFlat(result, { rss, heap = 1 * MB }) {
  const line = report(result);
  console.log(`      ${line}`);
  for (const s of result.samples) {
    expect(s.maps, `${line}: /dev/shm mappings at ${s.at}`).to.equal(result.samples[0].maps);
    expect(s.fds, `${line}: file descriptors at ${s.at}`).to.equal(result.samples[0].fds);
    expect(s.handles, `${line}: native handles at ${s.at}`).to.equal(result.samples[0].handles);
    expect(s.ledgerSize, `${line}: ledger size at ${s.at}`).to.equal(LEDGER_SIZE);
  }
  expect(growth(result, 'rss'), `${line}: RSS`).to.be.below(rss);
  expect(growth(result, 'heapUsed'), `${line}: V8 heap`).to.be.below(heap);
}

describe('memory of robust handles', function () {
  this.timeout(180000);
  afterEach(unlinkAll);

  it('100,000 robust open/close cycles (the ledger shared with a handle kept open): RSS, heap, mappings, fds and ledger size flat', async () => {
    const result = await cycles('open-shared');
    expect(result.cycles).to.equal(100_000);
    expect(result.samples[0].maps).to.equal(2); // the kept handle's semaphore and ledger: each close() unmapped its copy
    expect(result.samples[0].handles).to.equal(1); // the kept handle: every other one was finalised
    expectFlat(result, { rss: HANDLE_CHURN_RSS });
  });

  it('5,000 robust open/close cycles with no other robust handle open (each maps the ledger and claims a slot, each close gives both back): flat', async () => {
    const result = await cycles('open-alone', 5000);
    expect(result.samples[0].maps).to.equal(0); // no handle open between cycles: neither semaphore nor ledger left mapped
    expect(result.samples[0].handles).to.equal(0);
    expectFlat(result, { rss: HANDLE_CHURN_RSS });
  });

  it('300,000 robust acquire()/release() cycles (each recorded, then unrecorded): flat, nothing left recorded', async () => {
    const result = await cycles('acquire');
    expect(result.holders.filter(([, units]) => units !== 0)).to.deep.equal([]); // (this test process's own slot shows, with 0)
    expectFlat(result, { rss: 4 * MB });
  });
});
