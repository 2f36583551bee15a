'use strict';
// mocha's spec reporter, plus one plain closing line that any CI reads:
// "mocha: N passed, N failed, N skipped". In CI (CI=true) a skipped test is
// a failure unless test/support/skips.js lists it with the reason it may be
// skipped there: a test that cannot run proves nothing.
const Mocha = require('mocha');
const { allowedSkip } = require('./skips');

const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const refused = [];
    const ci = process.env.CI === 'true';
    runner.on(EVENT_TEST_PENDING, (test) => {
      if (ci && allowedSkip(test.fullTitle()) === undefined) refused.push(test.fullTitle());
    });
    // Registered before the runner's own end listener, which hands mocha the failure count (its exit status).
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      if (refused.length > 0) {
        process.stdout.write(`\nskipped in CI, and not in test/support/skips.js (a skipped test proves nothing):\n`);
        for (const title of refused) process.stdout.write(`  - ${title}\n`);
        runner.failures += refused.length;
      }
      process.stdout.write(`\nmocha: ${passes} passed, ${failures + refused.length} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SpecWithSummary;
