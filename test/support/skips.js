'use strict';
// The tests that may be skipped in CI (CI=true), each with why. Any other
// skipped test fails the run there (test/support/reporter.js): a test that
// cannot run proves nothing, and a CI machine has every tool the suite needs
// (.ci/run installs them). Keep this list short.
const ALLOWED = [
  {
    title: /a handle collected without close\(\) is closed by its finaliser/,
    why: 'runs in a child with --expose-gc when the runner has no gc(); skipped only in a runner started with --expose-gc, which runs it inline',
  },
  {
    title: /inter-process example: the child prints "hi there :\)" only after the parent posts/,
    why: "skipped only under the runtime matrix (scripts/runtimes.js) on another Node.js line: shm-typed-array is a NAN addon built for the development node's ABI; npm test runs it",
  },
];

/** The reason `fullTitle` may be skipped in CI, or undefined. */
function allowedSkip(fullTitle) {
  return ALLOWED.find((entry) => entry.title.test(fullTitle))?.why;
}

module.exports = { allowedSkip, ALLOWED };
