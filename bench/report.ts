// The one table `npm run bench` prints: the machine, every figure, the issue's targets next to
// them, and whether each is met. Markdown, so it can be pasted into docs/benchmarks.md as is.
import { AUTH_TOLERANCE, type AuthResult, roundTripsPerRequest } from './auth.js';
import type { CostResult } from './cost.js';
import { costRows } from './cost-report.js';
import type { FloorResult } from './floor.js';
import type { LatencySummary } from './histogram.js';
import type { HistorySummary } from './history.js';
import type { MachineInfo } from './infra.js';
import type { IngestCpu, IngestResult, LatencyResult } from './ingest.js';
import type { LoadResult } from './load.js';
import type { Profile } from './profile.js';
import {
  ACTIVITY_SLOTS,
  type BurstResult,
  type CpuUse,
  EXCHANGE_LATENCY_S,
  type Measured,
  median,
  type PostResults,
  type SpikeResult,
  type SteadyResult,
} from './scenarios.js';
import type { SseResult } from './sse-fanout.js';
import { sseRows } from './sse-report.js';
import { SUSTAINED_LAG_P50_MS, SUSTAINED_LAG_P99_MS, type SustainedProbe, type SustainedResult } from './sustained.js';

export type Outcome<T> = T | { error: string } | undefined;

export interface Results {
  profile: Profile;
  /** The signal that stopped the run before its end, if one did. */
  interrupted?: string;
  /** Some of the mode's values were overridden on the command line. */
  overridden?: boolean;
  machine: MachineInfo;
  temporal: 'file' | 'memory' | 'external';
  loadBefore: string;
  loadAfter?: string;
  totalS?: number;
  limitHttp?: Outcome<Measured>;
  limitInsert?: Outcome<Measured>;
  limitStart?: Outcome<Measured>;
  limitStartPlacing?: Outcome<Measured>;
  limitEmptyWorkflow?: Outcome<FloorResult>;
  sustained?: Outcome<SustainedResult>;
  post?: Outcome<PostResults>;
  down?: Outcome<Measured>;
  spike?: Outcome<SpikeResult[]>;
  burstInstant?: Outcome<BurstResult>;
  burstOne?: Outcome<BurstResult>;
  burstTwo?: Outcome<BurstResult>;
  costHealthy?: Outcome<CostResult>;
  costFirstAttemptFails?: Outcome<CostResult>;
  steady?: Outcome<SteadyResult>;
  sse?: Outcome<SseResult>;
  ingest?: Outcome<IngestResult>;
  auth?: Outcome<AuthResult>;
}

function ok<T>(outcome: Outcome<T>): T | undefined {
  return outcome === undefined || (typeof outcome === 'object' && outcome !== null && 'error' in outcome) ? undefined : (outcome as T);
}

function failure(outcome: Outcome<unknown>): string {
  if (outcome === undefined) return 'not run';
  if (typeof outcome === 'object' && outcome !== null && 'error' in outcome)
    return `FAILED: ${String((outcome as { error: string }).error).split('\n')[0]}`;
  return '';
}

const num = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function latency(summary: LatencySummary): string {
  return `p50 ${ms(summary.p50Ms)} / p90 ${ms(summary.p90Ms)} / p99 ${ms(summary.p99Ms)} / max ${ms(summary.maxMs)} ms`;
}

function lag(summary: LatencySummary): string {
  return `p50 ${ms(summary.p50Ms)} / p99 ${ms(summary.p99Ms)} / max ${ms(summary.maxMs)} ms (${summary.count} orders)`;
}

function cpu(use: CpuUse | undefined): string {
  if (!use) return '';
  const names: Record<string, string> = {
    api: 'api',
    worker: 'worker',
    server: 'server',
    postgres: 'pg',
    temporal: 'temporal',
    bench: 'bench',
  };
  const parts = Object.entries(use.cores)
    .filter(([, cores]) => cores >= 0.005)
    .map(([name, cores]) => `${names[name] ?? name} ${cores.toFixed(2)}`);
  return `${parts.join(', ')}; machine ${num(use.machineBusyPct)}% busy`;
}

function errorsOf(result: LoadResult): string {
  const codes = Object.entries(result.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${count}×${code}`);
  return `non-2xx ${result.non2xx}${codes.length ? ` (${codes.join(', ')})` : ''}, errors ${result.errors}`;
}

function serverErrorsOf(errors: Record<string, number> | undefined, most = 2): string {
  const entries = Object.entries(errors ?? {}).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '';
  return `; the API logged ${entries
    .slice(0, most)
    .map(([message, count]) => `${count}× "${message.length > 160 ? `${message.slice(0, 160)}…` : message}"`)
    .join(', ')}`;
}

function httpFigure(result: LoadResult & { serverErrors?: Record<string, number> }, unit = 'req/s'): string {
  return (
    `${num(result.perSecond)} ${unit} (${result.completed} in ${num(result.durationS, 1)} s); ${latency(result.latency)}; ${errorsOf(result)}` +
    (result.errors > 0 && result.firstError ? ` (first: "${result.firstError}")` : '') +
    serverErrorsOf(result.serverErrors)
  );
}

const verdict = (met: boolean | undefined) => (met === undefined ? 'n/a' : met ? 'met' : '**NOT met**');

export interface Row {
  measure: string;
  figure: string;
  cpu?: string;
  target?: string;
  verdict?: string;
}

export function renderTable(results: Results): string {
  const { profile, machine } = results;
  const c = profile.connections;
  const rows: Row[] = [];
  const section = (title: string) => rows.push({ measure: `**${title}**`, figure: '' });
  const failed = (measure: string, outcome: Outcome<unknown>) => rows.push({ measure, figure: failure(outcome) });

  section('Machine and run');
  rows.push({ measure: 'machine', figure: `${machine.cpuModel}, ${machine.cores} cores, ${num(machine.memoryGiB, 1)} GiB memory` });
  rows.push({
    measure: 'software',
    figure: `Node ${machine.node}; Temporal CLI ${machine.temporalCli} (${{ file: 'dev server, SQLite file, WAL, synchronous=OFF', memory: 'dev server, SQLite in memory', external: 'an external Temporal server' }[results.temporal]}); embedded PostgreSQL 18`,
  });
  rows.push({
    measure: 'run',
    figure: `${machine.date}; code ${machine.commit}; mode ${profile.name}${results.interrupted ? ` (INTERRUPTED by ${results.interrupted}: incomplete)` : ''}${results.overridden ? ' (with overrides: not a standard run)' : ''}${results.totalS !== undefined ? `, ${num(results.totalS / 60, 1)} min` : ''}; load average (1/5/15 min) before ${results.loadBefore}${results.loadAfter ? `, after ${results.loadAfter}` : ''}`,
  });

  // 2. limits first: POST is read against them
  const http = ok(results.limitHttp);
  const insert = ok(results.limitInsert);
  const start = ok(results.limitStart);
  section(`Limits: each part of POST /orders alone, ${c} concurrent, ${profile.durationS} s`);
  if (http)
    rows.push({
      measure: '(a) HTTP + validation only (Koa, readJsonBody, parseOrderRequest, orderJson; no DB, no Temporal)',
      figure: httpFigure(http),
      cpu: cpu(http.cpu),
    });
  else failed('(a) HTTP + validation only', results.limitHttp);
  if (insert)
    rows.push({
      measure: '(b) Prisma insert only (OrdersRepository.create, pool 10)',
      figure: httpFigure(insert, 'inserts/s').replace(/non-2xx 0, /, ''),
      cpu: cpu(insert.cpu),
    });
  else failed('(b) Prisma insert only', results.limitInsert);
  if (start)
    rows.push({
      measure: '(c) Temporal workflow start only (PlacementStarter, unpolled queue)',
      figure: httpFigure(start, 'starts/s').replace(/non-2xx 0, /, ''),
      cpu: cpu(start.cpu),
    });
  else failed('(c) Temporal workflow start only', results.limitStart);
  const startPlacing = ok(results.limitStartPlacing);
  if (startPlacing)
    rows.push({
      measure: '(d) insert + workflow start without HTTP (submitOrder) while 1 worker places those orders (exchange at defaults)',
      figure: httpFigure(startPlacing, 'orders/s').replace(/non-2xx 0, /, ''),
      cpu: cpu(startPlacing.cpu),
    });
  else failed('(d) starts while a worker places', results.limitStartPlacing);
  const floor = ok(results.limitEmptyWorkflow);
  if (floor)
    rows.push({
      measure:
        "(e) the Temporal server's floor: workflows that do nothing (start, one workflow task, completion), 1 worker in the benchmark",
      figure:
        `${floor.workflows} workflows started and completed in ${num(floor.seconds, 1)} s, ${profile.connections} at a time: ${num(floor.perSecond)} workflows/s` +
        (floor.temporalCpuMsPerWorkflow === null ? '' : `; Temporal server CPU ${num(floor.temporalCpuMsPerWorkflow, 1)} ms per workflow`),
      cpu: cpu(floor.cpu),
    });
  else failed("(e) the Temporal server's floor", results.limitEmptyWorkflow);
  // What no workflow can do better than on this server: printed beside the goals it bounds.
  const floorNote = (figure: 'ms' | 'rate') =>
    floor === undefined
      ? ''
      : figure === 'ms'
        ? floor.temporalCpuMsPerWorkflow === null
          ? ''
          : ` (floor (e): ${num(floor.temporalCpuMsPerWorkflow, 1)} ms for a workflow that does nothing)`
        : ` (floor (e): ${num(floor.perSecond)} workflows/s that do nothing)`;

  // 1. POST /orders
  const post = ok(results.post);
  const down = ok(results.down);
  section(`POST /orders, ${c} connections, ${profile.warmupS} s warm-up + ${profile.durationS} s`);
  if (post) {
    const errors = post.oneApi.non2xx + post.oneApi.errors;
    rows.push({
      measure: 'exchange healthy (1 API, 1 worker)',
      figure: httpFigure(post.oneApi),
      cpu: cpu(post.oneApi.cpu),
      target: `≥ 150 req/s, 0 errors${floorNote('rate')}`,
      verdict: verdict(errors === 0 && post.oneApi.perSecond >= 150),
    });
    if (startPlacing) {
      const share = post.oneApi.perSecond / startPlacing.perSecond;
      rows.push({
        measure: '  its share of (d), what Temporal sustains for starts while a worker places',
        figure: `${num(share, 2)} (${num(post.oneApi.perSecond)} ÷ ${num(startPlacing.perSecond)})`,
        target: '≥ 0.9',
        verdict: verdict(share >= 0.9 && errors === 0),
      });
    }
  } else failed('exchange healthy', results.post);
  if (down) {
    const errors = down.non2xx + down.errors;
    rows.push({
      measure: 'exchange down (worker with EXCHANGE_FAILURE_RATE=1)',
      figure: httpFigure(down),
      cpu: cpu(down.cpu),
      target: '0 errors',
      verdict: verdict(errors === 0),
    });
  } else failed('exchange down', results.down);
  if (post && down) {
    const ratio = down.latency.p99Ms / post.oneApi.latency.p99Ms;
    rows.push({
      measure: 'p99 down ÷ p99 healthy',
      figure: `${num(ratio, 2)} (${ms(down.latency.p99Ms)} ÷ ${ms(post.oneApi.latency.p99Ms)} ms)`,
      target: '≤ 1.1',
      verdict: verdict(ratio <= 1.1),
    });
  }
  if (post && http && insert && start) {
    const limits = [
      { name: '(a) HTTP', rate: http.perSecond },
      { name: '(b) insert', rate: insert.perSecond },
      { name: '(c) workflow start', rate: start.perSecond },
    ].sort((x, y) => x.rate - y.rate);
    const slowest = limits[0]!;
    const fraction = post.oneApi.perSecond / slowest.rate;
    const errors = post.oneApi.non2xx + post.oneApi.errors;
    rows.push({
      measure: 'POST throughput ÷ slowest limit',
      figure: `${num(fraction, 2)} (${num(post.oneApi.perSecond)} ÷ ${num(slowest.rate)}/s, slowest: ${slowest.name})`,
      target: '≥ 0.80 with 0 errors',
      verdict: verdict(fraction >= 0.8 && errors === 0),
    });
  }

  // Spike: a burst at one moment, against the bound every answer must keep
  const sp = ok(results.spike);
  section(
    `Spike: ${profile.spikeRequests} POST /orders at one moment (${profile.spikeRequests} connections, one request each), 1 worker placing meanwhile`,
  );
  const spikeRow = (label: string, result: SpikeResult) => {
    const share = result.created / result.requests;
    const answeredAll = result.load.completed === result.requests;
    const within = answeredAll && result.load.latency.maxMs <= result.bound.ms;
    const otherCodes = Object.entries(result.load.statusCodes)
      .filter(([code]) => code !== '201' && code !== '500')
      .map(([code, count]) => `${count}×${code}`);
    const unanswered = Object.entries(result.load.errorsByMessage).map(([message, count]) => `${count} unanswered: "${message}"`);
    const otherParts = [...otherCodes, ...unanswered];
    const { after } = result;
    rows.push({
      measure: label,
      figure:
        `${result.requests} requests: ${result.created}×201 (${num(100 * share, 1)}%), ${result.serverError}×500, ` +
        `other ${result.other}${otherParts.length ? ` (${otherParts.join(', ')})` : ''}` +
        `; p50 ${ms(result.load.latency.p50Ms)} / p99 ${ms(result.load.latency.p99Ms)} / max ${ms(result.load.latency.maxMs)} ms` +
        `; bound ${result.bound.ms} ms (${result.bound.parts}): max ${within ? '≤' : '>'} bound` +
        (answeredAll ? '' : ' (not every request answered)') +
        `; as the API timed them (${result.server.count}, from their headers): p50 ${ms(result.server.p50Ms)} / p99 ${ms(result.server.p99Ms)} / max ${ms(result.server.maxMs)} ms` +
        (result.listenOverflows ? `; ${result.listenOverflows} connections dropped by a full accept queue (machine-wide)` : '') +
        `; the ${result.requests} connections opened in ${num(result.load.connectS, 2)} s, then all answered in ${num(result.load.durationS, 1)} s; TEMPORAL_START_CONCURRENCY ${result.settings.startConcurrency}, DB_POOL_SIZE ${result.settings.poolSize} per API` +
        `; then ${after.placed} placed, ${after.rejected} rejected` +
        (after.open > 0 ? `, ${after.open} still on their way` : '') +
        ` ${num(after.waitedS, 1)} s after the last answer${after.complete ? '' : ' (stopped waiting)'}` +
        (result.placedWithout201.length > 0
          ? `; **placed without a 201: ${result.placedWithout201.length}** (must be 0)`
          : '; placed without a 201: 0 (must be 0)') +
        (result.placedWithout201[0]
          ? ` (${result.placedWithout201[0].id}, ${result.placedWithout201[0].status}; its API logged: ${result.placedWithout201[0].log.map((line) => `"${line.slice(0, 200)}"`).join(', ')})`
          : '') +
        serverErrorsOf(result.serverErrors, 4),
      cpu: cpu(result.cpu),
      target: `≥ 99% 201, every answer ≤ the bound (${result.bound.ms} ms)`,
      verdict: verdict(share >= 0.99 && within) + (result.placedWithout201.length > 0 ? '; **placed after a 500**' : ''),
    });
  };
  if (sp) {
    for (const result of sp)
      spikeRow(
        result.apis === 1 ? '1 API process' : `${result.apis} API processes (${Math.ceil(result.requests / result.apis)} requests each)`,
        result,
      );
  } else failed('spike', results.spike);

  // 3. placement
  const instant = ok(results.burstInstant);
  const one = ok(results.burstOne);
  const two = ok(results.burstTwo);
  section(`Placement: ${profile.burstOrders} orders accepted at once, then released to the worker(s)`);
  const historyFigure = (summary: HistorySummary | null) =>
    summary === null
      ? 'none in the sample'
      : `${num(summary.events, 1)} events, ${num(summary.workflowTasks, 1)} workflow tasks, ${num(summary.activityTasks, 1)} activity tasks ` +
        `(${num(summary.activityAttempts, 1)} attempts), ${num(summary.localActivities, 1)} local activities, ${num(summary.upserts, 1)} upserts (${summary.orders} orders)`;
  const temporalRows = (burst: BurstResult) => {
    const cost = burst.temporal;
    if (cost === null) return;
    rows.push({
      measure: '  Temporal server CPU per placement (its start through to the exchange)',
      figure:
        `${num(cost.cpuMsPerPlacement, 1)} ms` +
        (cost.cpuMsPerOrder === null
          ? ''
          : `; ${num(cost.cpuMsPerOrder, 1)} ms per order through to its workflow's end (its fills' terminal event taken)`),
      target: `≤ 12 ms${floorNote('ms')}`,
      verdict: verdict(cost.cpuMsPerPlacement <= 12),
    });
    rows.push({ measure: '  history of a healthy order', figure: historyFigure(cost.histories.healthy) });
    if (cost.histories.healthy) rows.push({ measure: '  the events of one of them', figure: cost.histories.healthy.example.join(' → ') });
    rows.push({
      measure: '  history of an order whose first exchange attempt failed',
      figure: historyFigure(cost.histories.firstAttemptFailed),
    });
  };
  const burstRow = (label: string, burst: BurstResult, minimum?: number) =>
    rows.push({
      measure: label,
      figure:
        `${burst.complete ? 'all ' : ''}${burst.placed}/${burst.orders} placed ${num(burst.drainS, 1)} s after release` +
        (burst.complete ? '; ' : ` (stopped waiting after ${profile.burstWaitS} s: figures of the placed ones); `) +
        `${num(burst.bulkPerSecond)} placements/s (bulk, 10→90%), ` +
        `${num(burst.overallPerSecond)}/s overall; wait from release ${lag(burst.wait).replace(/ \(\d+ orders\)/, '')}` +
        (burst.placedBeforeAllReady > 0 ? `; ${burst.placedBeforeAllReady} placed before the 2nd worker polled` : '') +
        `; submitted at ${num(burst.submit.perSecond)}/s, worker start ${num(burst.workerStartS, 1)} s`,
      cpu: cpu(burst.cpu),
      ...(minimum === undefined
        ? {}
        : {
            target: `≥ ${minimum} placements/s (bulk)${floorNote('rate')}`,
            verdict: verdict(burst.complete && burst.bulkPerSecond >= minimum),
          }),
    });
  if (instant) {
    burstRow("Temporal's own rate: 1 worker, instant never-failing exchange (0 ms, 0%)", instant, 80);
    temporalRows(instant);
  } else failed("Temporal's own rate (instant exchange)", results.burstInstant);
  if (one) {
    burstRow(`1 worker, exchange at defaults (${EXCHANGE_LATENCY_S} s, 10% failures)`, one, 75);
    temporalRows(one);
  } else failed('1 worker, exchange at defaults', results.burstOne);
  const slotBound = ACTIVITY_SLOTS / EXCHANGE_LATENCY_S;
  if (one && instant) {
    const bound = Math.min(slotBound, instant.bulkPerSecond);
    const fraction = one.bulkPerSecond / bound;
    rows.push({
      measure: "placements/s ÷ min(activity slots ÷ 0.5 s, Temporal's own rate)",
      figure: `${num(fraction, 2)} (${num(one.bulkPerSecond)} ÷ min(${ACTIVITY_SLOTS} ÷ ${EXCHANGE_LATENCY_S} = ${num(slotBound)}, ${num(instant.bulkPerSecond)}) = ${num(bound)}/s)`,
      target: '≥ 0.80',
      verdict: verdict(fraction >= 0.8),
    });
  }
  const sustained = ok(results.sustained);
  if (sustained) {
    const probeFigure = (probe: SustainedProbe) =>
      `${probe.rate}/s for ${num(probe.seconds, 0)} s: lag ${lag(probe.lag)}; sent ${num(probe.post.perSecond, 1)}/s, ${errorsOf(probe.post)}` +
      (probe.allPlaced ? '' : '; not all placed 30 s after') +
      (probe.times
        ? `; p50 of its parts: API (insert, start) ${ms(probe.times.apiMs.p50Ms)} ms, Temporal dispatch ${ms(probe.times.dispatchMs.p50Ms)} ms, ` +
          `first workflow task (claim, exchange, placed) ${ms(probe.times.firstTaskMs.p50Ms)} ms`
        : '') +
      ` → ${probe.held ? 'held' : 'did not hold'}`;
    for (const probe of sustained.probes)
      rows.push({
        measure: `sustained-rate search, probe (1 API, 1 worker, exchange at defaults)`,
        figure: probeFigure(probe),
        cpu: cpu(probe.cpu),
      });
    const found = sustained.confirmed;
    rows.push({
      measure: `sustained rate: highest arrival rate placed with lag p50 ≤ ${SUSTAINED_LAG_P50_MS} ms and p99 ≤ ${SUSTAINED_LAG_P99_MS} ms for ${num(sustained.confirmS / 60, 0)} min`,
      figure: found ? probeFigure(found) : sustained.confirmS > 0 ? 'no rate held for the whole time' : 'not confirmed in this mode',
      ...(found ? { cpu: cpu(found.cpu) } : {}),
      target: `≥ 50 orders/s${floorNote('rate')}`,
      verdict: verdict(found !== null && found.rate >= 50),
    });
  } else if (results.sustained) failed('sustained rate', results.sustained);
  const st = ok(results.steady);
  if (st) {
    const rateNote = st.rate === 100 ? '' : ` (target is at 100/s; this is ${st.rate}/s)`;
    rows.push({
      measure: `steady ${st.rate} orders/s through the API: lag created_at → placed_at, first ${st.lagWindowS} s`,
      figure:
        `${lag(st.lagWindow)}` +
        (st.unplacedInWindow > 0
          ? ` (${st.unplacedInWindow} not placed ${profile.steadyDrainS} s after the run: counted with their wait so far, so lower bounds)`
          : '') +
        `; sent ${num(st.post.perSecond, 1)}/s, POST ${latency(st.post.latency)}, ${errorsOf(st.post)}${serverErrorsOf(st.serverErrors)}` +
        (st.allPlaced ? '' : `; ${st.placed} of ${st.orders} placed ${profile.steadyDrainS} s after the run`),
      cpu: cpu(st.cpu),
      target: `lag p50 ≤ 600 ms at 100/s${rateNote}`,
      verdict: verdict(st.lagWindow.p50Ms <= 600 && st.allPlaced) + (st.rate === 100 ? '' : ' (at lower rate)'),
    });
    if (st.runS > st.lagWindowS)
      rows.push({ measure: `  the same over the whole ${num(st.runS / 60, 0)} min run`, figure: lag(st.lagAll) });
  } else failed('steady arrivals', results.steady);

  // CPU per order per process (issue #24), the server's next to the floor (e)
  if (results.costHealthy || results.costFirstAttemptFails)
    costRows({ healthy: results.costHealthy, firstAttemptFails: results.costFirstAttemptFails }, floor, rows, section, failed);

  // 4. scale-out
  section('Scale-out (2 cores: the shape, not a doubling)');
  if (post) {
    const ratio = post.twoApis.perSecond / post.oneApi.perSecond;
    rows.push({
      measure: `POST /orders, 2 API processes (1 worker), ${c} connections`,
      figure: `${httpFigure(post.twoApis)}; ×${num(ratio, 2)} the throughput of 1 API`,
      cpu: cpu(post.twoApis.cpu),
    });
  }
  if (two) burstRow('placement, 2 workers, exchange at defaults', two);
  else failed('placement, 2 workers', results.burstTwo);
  if (one && two)
    rows.push({ measure: '2 workers ÷ 1 worker (bulk placements/s)', figure: `×${num(two.bulkPerSecond / one.bulkPerSecond, 2)}` });

  // 5. memory
  section(
    `Memory: RSS during the steady run, sampled every ${profile.rssSampleS} s from ${profile.rssSettleS} s on; start and end: medians of the first and the last ${profile.rssWindowS} s`,
  );
  if (st) {
    const full = st.runS >= 600;
    for (const [name, rss] of Object.entries(st.rss)) {
      rows.push({
        measure: `${name} process RSS over ${st.runS >= 120 ? `${num(st.runS / 60)} min` : `${st.runS} s`}`,
        figure: `start ${num(rss.startMiB)} MiB, end ${num(rss.endMiB)} MiB, min ${num(rss.minMiB)}, max ${num(rss.maxMiB)} MiB; change ${rss.changePct >= 0 ? '+' : ''}${num(rss.changePct, 1)}%`,
        target: 'flat ±10% over 10 min',
        verdict: verdict(Math.abs(rss.changePct) <= 10) + (full ? '' : ' (short run only)'),
      });
    }
  } else failed('memory', results.steady);

  // 6. GET /events
  const sse = ok(results.sse);
  if (sse) sseRows(sse, rows, section);
  else {
    section('GET /events as the service is used');
    failed('GET /events', results.sse);
  }

  ingestRows(results.ingest, rows, section, failed);
  authRows(results.auth, rows, section, failed);

  const header = '| measure | figure | CPU used (cores) | target | verdict |\n|---|---|---|---|---|';
  const escapeCell = (text: string) => text.replaceAll('|', '\\|');
  return [
    header,
    ...rows.map(
      (row) => `| ${[row.measure, row.figure, row.cpu ?? '', row.target ?? '', row.verdict ?? ''].map(escapeCell).join(' | ')} |`,
    ),
  ].join('\n');
}

/** A percentile read from buckets: beyond the last bucket only its lower bound is known. */
const beyond = (value: number, bucket: [number, number]) => (Number.isFinite(bucket[1]) ? ms(value) : `> ${ms(bucket[0])}`);

/** CPU microseconds per report. */
const perReport = (cpuS: number, reports: number) => (reports > 0 ? num((cpuS * 1e6) / reports) : 'n/a');

function ingestCpu(use: IngestCpu): string {
  const { venue, ingest, postgres, bench } = use.cores;
  return `venue ${venue.toFixed(2)}, ingest ${ingest.toFixed(2)}, pg ${postgres.toFixed(2)}, bench ${bench.toFixed(2)}; machine ${num(use.machineBusyPct)}% busy`;
}

/** 7. Execution-report ingestion: its rate and latency next to PostgreSQL's own limit, and the Temporal cost per filled order. */
function ingestRows(
  outcome: Outcome<IngestResult>,
  rows: Row[],
  section: (title: string) => void,
  failed: (measure: string, outcome: Outcome<unknown>) => void,
): void {
  const result = ok(outcome);
  if (!result) {
    section('Ingestion of execution reports (venue load mode → ingest → PostgreSQL, all on this machine)');
    failed('ingest', outcome);
    return;
  }
  section(
    `Ingestion of execution reports: venue load mode → ingest → PostgreSQL, all on this machine; ${result.orders} orders, INGEST_BATCH_MAX ${result.batchMax}, INGEST_BATCH_MS ${result.batchMs}`,
  );
  const pg = ok(result.pgLimit);
  if (pg)
    rows.push({
      measure: `PostgreSQL's own limit: the ingest's executions COPY alone (bench, no venue, no ingest), batches of ${pg.batchSize}, one in flight`,
      figure: `${num(pg.rowsPerS)} rows/s (${pg.rows} in ${num(pg.durationS, 1)} s, ${pg.batches} batches); per batch ${latency(pg.batchMs)}`,
      cpu: `${ingestCpu(pg.cpu)}; pg ${perReport(pg.cpu.seconds.postgres, pg.rows)} µs CPU per row`,
    });
  else failed("PostgreSQL's own limit", result.pgLimit);
  const sus = ok(result.sustained);
  if (sus) {
    // A backlog all along the offer: the ingest, not the offer, set the committed rate.
    const saturated = sus.backlogMin > result.batchMax;
    rows.push({
      measure: `sustained: ${sus.offeredPerS} reports/s offered for ${num(sus.offerS, 0)} s; committed/s from 1 s into the offer until the backlog was gone`,
      figure:
        `${num(sus.saturatedPerS)} reports/s committed (${num(sus.committedPerS)}/s while the venue was still making reports, ${num(sus.drainPerS)}/s while the backlog drained${sus.drained ? '' : ', stopped waiting: not drained'}); ` +
        `the venue made ${num(sus.madePerS)}/s; backlog at the end of the offer ${sus.backlogAtEnd} (smallest from 1 s in: ${sus.backlogMin}: ` +
        `${saturated ? 'the ingest was the limit' : 'it kept up with what was made'})` +
        (pg ? `; ${num(sus.saturatedPerS / pg.rowsPerS, 2)} of PostgreSQL's own limit` : ''),
      cpu:
        `during the offer: ${ingestCpu(sus.cpu)}; CPU per committed report over the offer and the drain: ` +
        `venue ${perReport(sus.cpuAll.seconds.venue, sus.committedAll)}, ingest ${perReport(sus.cpuAll.seconds.ingest, sus.committedAll)}, ` +
        `pg ${perReport(sus.cpuAll.seconds.postgres, sus.committedAll)} µs`,
      target: '≥ 20,000 reports/s sustained',
      verdict:
        verdict(sus.saturatedPerS >= 20_000) + (saturated || sus.saturatedPerS >= 20_000 ? '' : ' (the venue made fewer than offered)'),
    });
  } else failed('sustained ingest rate', result.sustained);
  const latencyRow = (lat: LatencyResult, extra: string) => {
    const s2c = lat.socketToCommit;
    const upper = s2c.p99Bucket[1];
    const atTarget = lat.offeredPerS >= 10_000;
    rows.push({
      measure: `latency at ${lat.offeredPerS} reports/s offered for ${lat.offerS} s${extra}: socket → COMMIT (the ingest's histogram, interpolated in its buckets)`,
      figure:
        `p50 ${beyond(s2c.p50Ms, s2c.p50Bucket)} / p99 ${beyond(s2c.p99Ms, s2c.p99Bucket)} ms (p99 in the bucket ${ms(s2c.p99Bucket[0])}–${Number.isFinite(upper) ? ms(upper) : '∞'} ms), mean ${ms(s2c.meanMs)} ms, ${s2c.count} reports; ` +
        `venue report time → its batch's transaction start (executions.venue_time → received_at, ms; includes the socket buffers): p50 ${ms(lat.madeToTxStart.p50Ms)} / p99 ${ms(lat.madeToTxStart.p99Ms)} / max ${ms(lat.madeToTxStart.maxMs)} ms; ` +
        `made ${num(lat.madePerS)}/s, ${lat.committed} committed (${num(lat.committedPerS)}/s over the offer and its drain)${lat.drained ? '' : ' (not drained)'}; ` +
        `${lat.batches.count} batches of ${num(lat.batches.meanReports)} reports on average, each written in ${num(lat.batches.meanCommitMs, 1)} ms on average`,
      cpu: ingestCpu(lat.cpu),
      ...(atTarget
        ? {
            target: 'p99 < 100 ms at 10,000/s',
            // Met only if the reports also got to the socket in time: a backlog in front of it is not in the histogram.
            verdict: verdict(
              Number.isFinite(upper) && s2c.p99Ms < 100 && lat.madeToTxStart.p99Ms < 100 && lat.madePerS >= 0.95 * lat.offeredPerS,
            ),
          }
        : {}),
    });
  };
  const lat = ok(result.latency);
  if (lat) latencyRow(lat, '');
  else failed('socket-to-commit latency', result.latency);
  if (result.latencyWithin) {
    const within = ok(result.latencyWithin);
    if (within) latencyRow(within, ' (half the sustained rate)');
    else failed('socket-to-commit latency at half the sustained rate', result.latencyWithin);
  }
  const wf = ok(result.temporal);
  if (wf) {
    rows.push({
      measure: `Temporal cost per order: ${wf.orders} orders${wf.submitFailed ? ` (${wf.submitFailed} more failed to submit)` : ''} placed through a worker, filled at once by the venue, ended by the ingest's terminal signal`,
      figure:
        `${wf.filled} filled; history events per order mean ${num(wf.events.mean, 1)} / max ${wf.events.max}; workflow tasks (WorkflowTaskScheduled) mean ${num(wf.workflowTasks.mean, 1)} / max ${wf.workflowTasks.max}; ` +
        `activities mean ${num(wf.activities.mean, 1)}; signals ${wf.signals.total} (max ${wf.signals.max} per order), Updates ${wf.updates.total} (max ${wf.updates.max}), terminal events among them ${wf.terminalMessages.total} (max ${wf.terminalMessages.max}); ` +
        `orders with more signals + Updates than terminal events: ${wf.overTerminal}`,
      target: 'printed; no more signals/Updates than terminal events',
      verdict: verdict(wf.filled > 0 && wf.overTerminal === 0),
    });
  } else failed('Temporal cost per order', result.temporal);
}

/** 8. API keys and the per-account limit: keys on (B) against keys off (A), interleaved rounds of one run. */
function authRows(
  outcome: Outcome<AuthResult>,
  rows: Row[],
  section: (title: string) => void,
  failed: (measure: string, outcome: Outcome<unknown>) => void,
): void {
  const result = ok(outcome);
  if (!result) {
    section('API keys and rate limit: POST /orders with keys on against keys off');
    failed('auth', outcome);
    return;
  }
  section(
    `API keys and rate limit: POST /orders, 1 API each, 1 worker, ${result.connections} connections, ${result.warmupS} s warm-up each, then rounds of ${result.durationS} s interleaved A, B, A, B…; ` +
      `both with the per-account limiter on (RATE_LIMIT_PER_MINUTE ${result.settings.perMinute}: never refuses, still leases), AUTH_CACHE_TTL_MS ${result.settings.cacheTtlMs}`,
  );
  const label = { off: 'A: AUTH_REQUIRED=false, no key (demo account)', on: 'B: AUTH_REQUIRED=true, Authorization: Bearer <key>' };
  const trips = (mode: 'off' | 'on', t = result.trips[mode]) =>
    `${num(roundTripsPerRequest(t), 4)} DB round trips/request (${t.requests} requests: key lookups ${t.lookupsCache} from the cache, ${t.lookupsDatabase} from the database (+ as many last_used_at updates); ${t.limiterCalls} limiter leases)`;
  // CPU the API process spent per answer: what auth adds, less hidden by the machine's other load than the rates.
  const apiCpuMs = (load: AuthResult['rounds'][number]['load']) => (1000 * (load.cpu.cores.api ?? NaN) * load.durationS) / load.completed;
  const medianCpuMs = (mode: 'off' | 'on') => {
    return median(result.rounds.filter((round) => round.mode === mode).map((round) => apiCpuMs(round.load)));
  };
  result.rounds.forEach((round, i) => {
    rows.push({
      measure: `round ${Math.floor(i / 2) + 1}, ${label[round.mode]}`,
      figure: `${httpFigure(round.load)}; API CPU ${ms(apiCpuMs(round.load))} ms/request; ${trips(round.mode, round.trips)}`,
      cpu: cpu(round.load.cpu),
    });
  });
  const errors = result.rounds.reduce((sum, round) => sum + round.load.non2xx + round.load.errors, 0);
  for (const mode of ['off', 'on'] as const) {
    rows.push({
      measure: `median of ${label[mode]}`,
      figure: `${num(result.median[mode].perSecond, 1)} req/s, p99 ${ms(result.median[mode].p99Ms)} ms, API CPU ${ms(medianCpuMs(mode))} ms/request; steady state (all its rounds): ${trips(mode)}`,
    });
  }
  rows.push({
    measure: 'authenticate() alone (in the bench process, 20,000 calls a round, median of 5 interleaved rounds)',
    figure: `CPU per request: no key ${ms(result.middlewareCpuUs.off)} µs, a cached key ${ms(result.middlewareCpuUs.on)} µs (parse, cache, SHA-256 compare): +${ms(result.middlewareCpuUs.on - result.middlewareCpuUs.off)} µs`,
  });
  rows.push({
    measure: 'B ÷ A, medians: throughput',
    figure: `${num(result.ratio.perSecond, 3)} (${num(result.median.on.perSecond, 1)} ÷ ${num(result.median.off.perSecond, 1)} req/s)`,
    target: `≥ ${1 - AUTH_TOLERANCE} with 0 errors`,
    verdict: verdict(result.ratio.perSecond >= 1 - AUTH_TOLERANCE && errors === 0),
  });
  rows.push({
    measure: 'B ÷ A, medians: p99',
    figure: `${num(result.ratio.p99Ms, 3)} (${ms(result.median.on.p99Ms)} ÷ ${ms(result.median.off.p99Ms)} ms)`,
    target: `≤ ${1 + AUTH_TOLERANCE} with 0 errors`,
    verdict: verdict(result.ratio.p99Ms <= 1 + AUTH_TOLERANCE && errors === 0),
  });
}
