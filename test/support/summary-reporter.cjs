// A mocha reporter for CI: prints like `spec` and writes {passed, failed, pending, failures}
// to the file named by PARLEY_TEST_SUMMARY, so .ci/run can print one summary line and, just
// above it, which tests failed (the end of a long CI log is what a reader sees first).
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test, err) => {
      const message = String((err && err.message) || err)
        .split('\n')[0]
        .slice(0, 300);
      failures.push(`${test.fullTitle()}: ${message}`);
    });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures: failed, pending } = runner.stats;
      fs.writeFileSync(
        process.env.PARLEY_TEST_SUMMARY,
        JSON.stringify({ passed: passes, failed, pending, failures }) + '\n',
      );
    });
  }
}

module.exports = SummaryReporter;
