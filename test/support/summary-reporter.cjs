// A mocha reporter for CI: prints like `spec` and writes {passed, failed, pending}
// to the file named by PARLEY_TEST_SUMMARY, so .ci/run can print one summary line.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      fs.writeFileSync(
        process.env.PARLEY_TEST_SUMMARY,
        JSON.stringify({ passed: passes, failed: failures, pending }) + '\n',
      );
    });
  }
}

module.exports = SummaryReporter;
