'use strict';
// The test groups run by `npm test`. Files named on the command line
// (`npx mocha test/api/sync.test.js`) run alone: mocha would otherwise add
// them to every group.
const named = process.argv.slice(2).some((arg) => /\.test\.js$/.test(arg));

module.exports = {
  ...(named ? {} : { spec: ['test/unit/**/*.test.js', 'test/api/**/*.test.js', 'test/process/**/*.test.js', 'test/build/**/*.test.js'] }),
  require: ['test/support/setup.js'],
  timeout: 30000,
  slow: 2000,
  reporter: 'test/support/reporter.js',
};
