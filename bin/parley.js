#!/usr/bin/env node
// The `parley` command. Runs the JavaScript that `npm run build` compiled into dist/ (the `prepare`
// script, so `npm ci` and `npm install` build it) when dist/ is current (bin/dist-state.js);
// otherwise (no build yet, or a source changed since: development) the TypeScript sources
// through tsx, a devDependency. A stale dist/ is never run. PARLEY_FROM_SOURCE=1 runs the sources.
import { distIsCurrent } from './dist-state.js';

let main;
if (process.env.PARLEY_FROM_SOURCE !== '1' && distIsCurrent()) {
  ({ main } = await import('../dist/conformance/cli/main.js'));
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    process.stderr.write(
      'parley: dist/ is missing or older than the sources, and tsx is not installed to run them: run `npm ci` (it builds dist/) or `npm run build`\n',
    );
    process.exit(2);
  }
  register();
  ({ main } = await import('../conformance/cli/main.ts'));
}
process.exitCode = await main(process.argv);
