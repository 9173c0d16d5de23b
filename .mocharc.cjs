// Mocha runs the TypeScript sources through tsx. Under CI a summary reporter also
// writes the pass/fail counts that .ci/run prints as its last line.
'use strict';
const summary = process.env.PARLEY_TEST_SUMMARY;
module.exports = {
  'node-option': ['import=tsx'],
  spec: ['test/**/*.test.ts'],
  extension: ['ts'],
  timeout: 20000,
  reporter: summary ? './test/support/summary-reporter.cjs' : 'spec',
};
