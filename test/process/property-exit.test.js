'use strict';
// Property-based test (fast-check) across a process exit: random operations
// on two handles, some with releaseOnExit, in a child that then ends (returns,
// exits, throws) with handles still open; the value afterwards is the
// model's (test/support/model.js): each releaseOnExit handle gives back
// exactly the units it holds, and no others.
const { expect } = require('chai');
const fc = require('fast-check');
const { Semaphore, uniqueName, unlinkAll, runToEnd } = require('../support/helpers');
const { MAX, CLOSED, HANDLES, handle } = require('../support/model');

describe('property: operation sequences agree with a model', function () {
  this.timeout(60000);
  afterEach(unlinkAll);

  // Each run in its own process, which ends with handles still open: the
  // units each releaseOnExit handle holds (taken minus posted through it)
  // come back, and no others.
  it('at exit, each releaseOnExit handle gives back exactly the units it holds', async () => {
    const op = fc.tuple(fc.constantFrom('tryWait', 'tryAcquire', 'post', 'acquire0', 'close', 'reopen'), handle);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 2, 3, MAX - 1),
        fc.array(fc.boolean(), { minLength: HANDLES, maxLength: HANDLES }),
        fc.array(op, { maxLength: 25 }),
        fc.constantFrom('end', 'exit', 'throw'),
        async (value, release, ops, ending) => {
          const name = uniqueName('prop-exit');
          const observer = new Semaphore(name, { value, exclusive: true });
          try {
            const { code, stdout, stderr } = await runToEnd('fault-exit-ops.js', [name, JSON.stringify({ release, ops, ending })]);
            expect(code, stderr).to.equal(ending === 'end' ? 0 : ending === 'exit' ? 3 : 1);
            // The model.
            const m = { value, open: release.map(() => true), held: release.map(() => 0) };
            const want = [];
            for (const [what, h] of ops) {
              if (what === 'reopen') {
                if (!m.open[h]) {
                  m.open[h] = true;
                  m.held[h] = 0;
                }
                want.push('ok');
              } else if (what === 'close') {
                m.open[h] = false;
                want.push('ok');
              } else if (!m.open[h]) {
                want.push(CLOSED);
              } else if (what === 'post') {
                if (m.value === MAX) want.push('EOVERFLOW');
                else {
                  m.value++;
                  m.held[h]--;
                  want.push('ok');
                }
              } else if (m.value > 0) {
                m.value--;
                m.held[h]++;
                want.push(what === 'tryAcquire' ? 'true' : 'ok');
              } else {
                want.push({ tryWait: 'EAGAIN', tryAcquire: 'false', acquire0: 'ETIMEDOUT' }[what]);
              }
            }
            let final = m.value;
            for (let h = 0; h < HANDLES; h++) {
              if (release[h] && m.open[h]) final = Math.min(MAX, final + Math.max(0, m.held[h]));
            }
            expect(JSON.parse(stdout.split('\n')[0]), 'outcomes').to.deep.equal(want);
            expect(observer.value, 'value after the process ended').to.equal(final);
          } finally {
            observer.close();
            Semaphore.unlink(name);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
