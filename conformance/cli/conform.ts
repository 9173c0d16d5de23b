// `parley conform`: runs the conformance suite against a target (or the embedded reference
// provider) and writes report.json, junit.xml, report.html and optionally report.json.sig (issue 6).
// Its options are declared in conform-options.ts, which loads this module only when the command runs.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { packagePath } from '../../schemas/package-root.ts';
import { createFrameValidator, SCHEMA_DIR } from '../../schemas/validator.ts';
import { ALL_CASES } from '../cases/index.ts';
import { renderHtml } from '../reporters/html.ts';
import { attachConsole, useColor } from '../reporters/console.ts';
import { writeJsonReport } from '../reporters/json.ts';
import { renderJunit } from '../reporters/junit.ts';
import {
  buildReport,
  coverageOf,
  requirementRows,
  uncheckedSelectedMusts,
} from '../reporters/report.ts';
import { loadSignKey, signReport } from '../reporters/sign.ts';
import { startClientTarget, type ClientTarget } from '../client/target.ts';
import { OperatorLink } from '../operator/link.ts';
import {
  openRemoteProxy,
  preflightProxy,
  startEmbeddedProxy,
  type ProxyTarget,
} from '../proxy/target.ts';
import { subjectOf, type Subject } from '../runner/case.ts';
import { parseListen } from './proxy.ts';
import { readPartnerKeys } from './serve.ts';
import { RunnerEvents } from '../runner/events.ts';
import { loadExpectedFailures } from '../runner/expected.ts';
import { randomSeed } from '../runner/rng.ts';
import { runCases } from '../runner/run.ts';
import { checkCases, parseGlobs, selectCases } from '../runner/select.ts';
import { exitCodeOf, EXIT_HARNESS } from '../runner/summary.ts';
import { loadCatalogue } from '../spec-model/catalogue.ts';
import { startEmbeddedTarget, type EmbeddedTarget } from '../transport/embedded.ts';
import { registerOperator, unregisterOperator } from '../transport/operator.ts';
import { loadPartnerKey } from '../transport/partner.ts';
import { preflight, probe, SetupError } from '../transport/target.ts';
import { EXIT, processIo, type CliContext } from './context.ts';

const SPEC_DIR = packagePath('spec');

/** The options commander parses for `parley conform` (conform-options.ts declares them). */
export interface ConformOptions {
  target?: string;
  clientCmd?: string;
  operatorCmd?: string;
  registrationToken?: string;
  partnerKey?: string;
  only: string[];
  exclude: string[];
  list?: boolean;
  seed?: string;
  concurrency: string;
  timeoutFactor: string;
  reportDir: string;
  signKey?: string;
  failOn: string;
  expectFailures?: string;
  proxy?: string;
  proxyUpstream?: string;
  proxyPartnerKey?: string;
  proxyProviderDomain?: string;
  proxyLoginCmd?: string;
}

/** The exit code of an interrupted run (128 + SIGINT), as shells report Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** Reference clients that run client cases side by side in an embedded run. */
const EMBEDDED_CLIENT_LANES = 4;

function versions(): { suite: string; spec: string } {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as {
    version: string;
  };
  const doc = parseYaml(readFileSync(join(SPEC_DIR, 'parley.asyncapi.yaml'), 'utf8')) as {
    info?: { version?: string };
  };
  return { suite: pkg.version, spec: doc.info?.version ?? 'unknown' };
}

/** Creates `--report-dir` when missing and proves it writable; throws an Error naming it. */
function checkReportDir(dir: string): void {
  const probeFile = join(dir, `.parley-write-check-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probeFile, '');
    rmSync(probeFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`--report-dir ${dir} is not a writable directory (${code})`, {
      cause: error,
    });
  }
}

/**
 * The program a shell command starts (its first word) when it cannot be found: a path that does
 * not exist, or a name on no PATH directory. Undefined when it is found, or when the command starts
 * with something the shell resolves itself (an assignment, a quote, a builtin).
 */
export function missingProgram(command: string): string | undefined {
  const first = command.trim().split(/\s+/)[0] ?? '';
  if (first === '' || /[='"$`(){}]/.test(first) || SHELL_WORDS.has(first)) return undefined;
  if (first.includes('/')) return existsSync(first) ? undefined : first;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.some((d) => existsSync(join(d, first))) ? undefined : first;
}

const SHELL_WORDS = new Set(['cd', 'exec', 'env', 'command', 'eval', '.', 'source', 'export']);

/** Parses a positive number option; returns undefined when it is not one. */
function positive(text: string, integer: boolean): number | undefined {
  const n = Number(text);
  return Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)) ? n : undefined;
}

export async function conform(opts: ConformOptions, context: CliContext): Promise<number> {
  const usage = (message: string): number => {
    context.io.err(`parley conform: ${message}\n`);
    return EXIT.usage;
  };
  const concurrency = positive(opts.concurrency, true);
  const timeoutFactor = positive(opts.timeoutFactor, false);
  const seed = opts.seed === undefined ? randomSeed() : Number(opts.seed);
  if (concurrency === undefined) return usage('--concurrency must be a positive integer');
  if (timeoutFactor === undefined) return usage('--timeout-factor must be a positive number');
  if (!Number.isSafeInteger(seed) || seed < 0)
    return usage('--seed must be a non-negative integer');
  if (!['fail', 'warn', 'unchecked'].includes(opts.failOn))
    return usage('--fail-on must be fail, warn or unchecked');
  if (opts.target && (!opts.registrationToken || !opts.partnerKey))
    return usage('--target needs --registration-token and --partner-key');
  if (!opts.target && (opts.registrationToken || opts.partnerKey))
    return usage('--registration-token and --partner-key need --target');
  if (opts.proxy && (!opts.proxyUpstream || !opts.proxyPartnerKey))
    return usage('--proxy needs --proxy-upstream and --proxy-partner-key');
  if (!opts.proxy && (opts.proxyUpstream || opts.proxyPartnerKey || opts.proxyLoginCmd))
    return usage('--proxy-upstream, --proxy-partner-key and --proxy-login-cmd need --proxy');
  const proxyListen = opts.proxyUpstream ? parseListen(opts.proxyUpstream) : undefined;
  if (opts.proxyUpstream && !proxyListen) return usage('--proxy-upstream must be host:port');
  if (opts.operatorCmd && !opts.target)
    return usage('--operator-cmd needs --target (the embedded target has every operator hook)');
  if (opts.target) {
    let scheme: string;
    try {
      scheme = new URL(opts.target).protocol;
    } catch {
      return usage(`--target ${opts.target} is not a URL (wss://host/parley/v1)`);
    }
    if (scheme !== 'ws:' && scheme !== 'wss:')
      return usage(
        `--target must be the provider's WebSocket endpoint, ws:// or wss:// (wss://host/parley/v1), not ${scheme}//`,
      );
  }
  for (const [option, command] of [
    ['--client-cmd', opts.clientCmd],
    ['--operator-cmd', opts.operatorCmd],
  ] as const) {
    const missing = command === undefined ? undefined : missingProgram(command);
    if (missing) return usage(`${option}: the program ${missing} was not found`);
  }

  const catalogue = loadCatalogue(SPEC_DIR);
  if (catalogue.diagnostics.length > 0) return usage('the requirement catalogue does not load');
  const known = new Set(catalogue.requirements.map((r) => r.id));
  const faults = checkCases(ALL_CASES, known);
  if (faults.length > 0) return usage(`the case library is faulty:\n  ${faults.join('\n  ')}`);
  // No target flag: every embedded subject; --target, --client-cmd and/or --proxy: those only.
  const subjects = new Set<Subject>(
    opts.target || opts.clientCmd || opts.proxy
      ? [
          ...(opts.target ? ['provider' as const] : []),
          ...(opts.clientCmd ? ['client' as const] : []),
          ...(opts.proxy ? ['proxy' as const] : []),
        ]
      : ['provider', 'client', 'proxy'],
  );
  const selected = selectCases(ALL_CASES, parseGlobs(opts.only), parseGlobs(opts.exclude)).filter(
    (c) => subjects.has(subjectOf(c)),
  );
  const coverage = coverageOf(requirementRows(catalogue.requirements, ALL_CASES, []));

  if (opts.list) {
    for (const c of selected)
      context.io.out(
        `${c.id}  ${subjectOf(c).padEnd(8)} ${c.level.padEnd(6)} ${c.requirements.join(',')}  ${c.title}\n`,
      );
    const byArea = Object.entries(coverage.byArea)
      .map(([a, v]) => `${a} ${v.covered}/${v.requirements}`)
      .join(', ');
    context.io.out(
      `\n${selected.length} of ${ALL_CASES.length} cases selected, naming ${new Set(selected.flatMap((c) => c.requirements)).size} requirements; requirements that have a case ${coverage.covered}/${coverage.requirements}, none ${coverage.notCovered} (${byArea}); a run says which it checked\n`,
    );
    return EXIT.ok;
  }
  if (selected.length === 0) return usage('no case matches the selection');

  // Setup checked before anything starts: a mistake here is the operator's, never the target's.
  try {
    checkReportDir(opts.reportDir);
  } catch (error) {
    return usage((error as Error).message);
  }
  if (opts.signKey)
    try {
      loadSignKey(opts.signKey);
    } catch (error) {
      return usage(`--sign-key ${(error as Error).message}`);
    }
  let expected: Set<string> | undefined;
  try {
    expected = opts.expectFailures ? loadExpectedFailures(opts.expectFailures) : undefined;
  } catch (error) {
    return usage(`cannot read --expect-failures: ${(error as Error).message}`);
  }

  const validator = createFrameValidator(SCHEMA_DIR);
  let embedded: EmbeddedTarget | undefined;
  let operatorLink: OperatorLink | undefined;
  let client: ClientTarget | undefined;
  let proxy: ProxyTarget | undefined;
  const moreClients: ClientTarget[] = [];
  const cleanups: (() => void)[] = [];
  try {
    // Ctrl-C (or SIGTERM): the cases in flight finish, the others end as not run, and a partial
    // report marked interrupted is written; a second signal quits at once. Temporary directories
    // go either way (runner/temp.ts removes them at exit).
    const abort = new AbortController();
    let signalled: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) process.exit(EXIT_INTERRUPTED);
      signalled = signal;
      abort.abort();
      context.io.err(
        `\nparley conform: ${signal}: finishing the cases in flight and writing a partial report (again to quit at once)\n`,
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    cleanups.push(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
    let url = '';
    let token: string;
    let partner;
    const waitMs = 2000 * timeoutFactor;
    if (subjects.has('client')) {
      try {
        client = await startClientTarget({
          ...(opts.clientCmd ? { command: opts.clientCmd } : {}),
          waitMs: waitMs * 5,
        });
        // The embedded reference client runs up to EMBEDDED_CLIENT_LANES client cases at a time (it
        // shares this process with the provider cases); a spawned driver runs them one at a time.
        if (!opts.clientCmd)
          for (let lane = 1; lane < Math.min(concurrency, EMBEDDED_CLIENT_LANES); lane++)
            moreClients.push(await startClientTarget({ waitMs: waitMs * 5 }));
      } catch (error) {
        context.io.err(
          `parley conform: the client's driver could not start: ${(error as Error).message}\n`,
        );
        return EXIT_HARNESS;
      }
    }
    if (subjects.has('proxy')) {
      try {
        proxy = opts.proxy
          ? await openRemoteProxy({
              url: opts.proxy,
              upstreamHost: proxyListen!.host,
              upstreamPort: proxyListen!.port,
              partnerKey: readPartnerKeys(opts.proxyPartnerKey!)[0]!,
              providerDomain: opts.proxyProviderDomain ?? proxyListen!.host,
              ...(opts.proxyLoginCmd ? { loginCmd: opts.proxyLoginCmd } : {}),
            })
          : await startEmbeddedProxy();
      } catch (error) {
        return usage(`--proxy: ${(error as Error).message}`);
      }
      try {
        await preflightProxy(proxy, waitMs * 5);
      } catch (error) {
        context.io.err(`parley conform: preflight of the proxy: ${(error as Error).message}\n`);
        return EXIT_HARNESS;
      }
    }
    let target;
    if (subjects.has('provider')) {
      if (opts.target) {
        try {
          partner = await loadPartnerKey(opts.partnerKey!);
        } catch (error) {
          return usage(`--partner-key ${(error as Error).message}`);
        }
        url = opts.target;
        token = opts.registrationToken!;
        if (opts.operatorCmd) {
          // Before the preflight: the driver may be what starts the target.
          operatorLink = new OperatorLink(opts.operatorCmd, timeoutFactor);
          try {
            registerOperator(url, operatorLink.operator(await operatorLink.hello()));
          } catch (error) {
            context.io.err(
              `parley conform: the operator driver (--operator-cmd) could not start: ${(error as Error).message}\n`,
            );
            return EXIT_HARNESS;
          }
        }
      } else {
        embedded = await startEmbeddedTarget();
        ({ url, registrationToken: token, partner } = embedded);
      }
      try {
        target = await preflight(url, token, partner, validator, waitMs);
      } catch (error) {
        const line = (error as Error).message.replace(/\s+/g, ' ');
        context.io.err(
          error instanceof SetupError
            ? `parley conform: preflight: ${line}\n`
            : `parley conform: the harness could not run: ${line}\n`,
        );
        return EXIT_HARNESS;
      }
    }
    const events = new RunnerEvents();
    const tty = context.io === processIo && process.stdout.isTTY === true;
    attachConsole(events, {
      write: context.io.out,
      tty,
      color: useColor(tty),
      coverage: (end) =>
        coverageOf(requirementRows(catalogue.requirements, ALL_CASES, end.results), end.results),
    });
    const startedAt = new Date();
    const levels = new Map(catalogue.requirements.map((r) => [r.id, r.level]));
    const sentences = new Map(catalogue.requirements.map((r) => [r.id, r.text]));
    const end = await runCases(selected, {
      ...(target ? { target } : {}),
      ...(client ? { client, moreClients } : {}),
      ...(proxy ? { proxy } : {}),
      validator,
      seed,
      concurrency,
      timeoutFactor,
      levels,
      sentences,
      ...(target ? { probe: () => probe(url, validator, waitMs) } : {}),
      events,
      signal: abort.signal,
      ...(expected ? { expectedFailures: expected } : {}),
    });
    const unchecked = uncheckedSelectedMusts(
      coverageOf(requirementRows(catalogue.requirements, ALL_CASES, end.results), end.results),
    );
    const exitCode = signalled
      ? EXIT_INTERRUPTED
      : exitCodeOf(end.results, {
          failOnWarn: opts.failOn === 'warn',
          ...(opts.failOn === 'unchecked' ? { uncheckedMusts: unchecked.length } : {}),
          ...(end.breaker ? { breaker: end.breaker } : {}),
        });
    if (opts.failOn === 'unchecked' && unchecked.length > 0)
      context.io.out(
        `--fail-on unchecked: ${unchecked.length} selected MUSTs were not checked in this run, so it cannot certify conformance\n`,
      );
    const v = versions();
    const report = buildReport({
      end,
      catalogue: catalogue.requirements,
      library: ALL_CASES,
      suiteVersion: v.suite,
      specVersion: v.spec,
      target: {
        url,
        domain: target?.domain ?? '',
        embedded: !opts.target,
        capabilities: [...(target?.capabilities ?? [])],
        ...(client
          ? {
              client: {
                driver: client.describe,
                name: client.driver.name,
                version: client.driver.version,
                embedded: client.embedded,
              },
            }
          : {}),
        ...(proxy ? { proxy: proxy.describe } : {}),
      },
      seed,
      options: {
        only: opts.only,
        exclude: opts.exclude,
        concurrency,
        timeoutFactor,
        failOn: opts.failOn,
        expectFailures: expected ? [...expected] : [],
      },
      startedAt,
      exitCode,
    });
    if (signalled) report.interrupted = true;
    writeJsonReport(opts.reportDir, report);
    writeFileSync(join(opts.reportDir, 'junit.xml'), renderJunit(report));
    writeFileSync(join(opts.reportDir, 'report.html'), renderHtml(report));
    if (opts.signKey) signReport(opts.reportDir, opts.signKey);
    context.io.out(
      `reports written to ${opts.reportDir}${opts.signKey ? ' (signed)' : ''}; exit ${exitCode}\n`,
    );
    return exitCode;
  } finally {
    for (const cleanup of cleanups) cleanup();
    await client?.close();
    await proxy?.close();
    for (const more of moreClients) await more.close();
    await embedded?.stop();
    if (operatorLink) {
      unregisterOperator(opts.target!);
      await operatorLink.close();
    }
  }
}
