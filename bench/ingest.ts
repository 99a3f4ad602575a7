// Execution-report ingestion (issue 12, "Targets"): the venue's load mode streams partial fills
// of many orders to the benchmark's one ingestion process, which writes them into PostgreSQL in
// batches; all three on this machine together. Measured in one run, next to each other:
//   - the sustained rate: more is offered than the ingest can take, and what it commits per
//     second from 1 s into the offer until the backlog is gone is its rate (a backlog all along
//     shows it was the limit, not the offer);
//   - the socket-to-commit latency at an offered 10,000/s, from the ingest's own histogram
//     (ingest_socket_to_commit_seconds: a report's line read off the socket → its batch's COMMIT
//     acknowledged), with the venue's report time → its batch's transaction start (executions'
//     venue_time → received_at, same clock) as a cross-check that includes the socket buffers;
//   - PostgreSQL's own limit for the same rows: the ingest's executions COPY alone, by the bench,
//     same table, same batch size, one batch in flight (as the ingest has);
// and the Temporal cost of orders placed and filled: history events and workflow tasks per
// order, and the signals and Updates each got (at most one terminal Update).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPlacementStarter } from '../api/placement-client.js';
import { submitOrder } from '../api/submit-order.js';
import { FINAL_STATUSES, workflowIdFor } from '../domain/order.js';
import type { ExecutionReport } from '../exchange/protocol.js';
import { copyExecutions } from '../ingest/batch-rows.js';
import { loadIngestConfig } from '../ingest/ingest-config.js';
import { orderTerminalSignal, orderTerminalUpdate } from '../temporal/messages.js';
import { type LatencySummary, summariseMs } from './histogram.js';
import { machineCpu, treeCpuSeconds } from './proc.js';
import { type Bench, instrumentFor, newOrder, queueFor, serviceEnv } from './scenarios.js';
import { startWorker } from './services.js';

/** The ingest's session (its default VENUE_SESSION): its committed next seq is in venue_sessions. */
const SESSION = 'ingest';
const ORDERS = 1000;
/** Offered above the 20,000/s target: if the ingest keeps up with it, the target is met with room. */
const OVERLOAD_RATE = 30_000;
const LATENCY_RATE = 10_000;

export interface IngestCpu {
  /** CPU seconds per second, per process (tree). */
  cores: { venue: number; ingest: number; postgres: number; bench: number };
  /** CPU seconds used, per process, over elapsedS. */
  seconds: { venue: number; ingest: number; postgres: number; bench: number };
  elapsedS: number;
  machineBusyPct: number;
}

export interface SustainedResult {
  offeredPerS: number;
  offerS: number;
  /** What the venue made per second while offering (it may fall short of the offer). */
  madePerS: number;
  /** Committed per second from 1 s into the offer to its end. */
  committedPerS: number;
  /** Reports made and not yet committed when the offer ended (a backlog all along: the ingest was the limit). */
  backlogAtEnd: number;
  /** The smallest backlog seen from 1 s in to the end of the offer. */
  backlogMin: number;
  /** Committed per second while the backlog drained (the venue no longer making reports, only sending them). */
  drainPerS: number;
  /** Committed per second from 1 s into the offer until the backlog was gone: the ingest's rate, a backlog all along. */
  saturatedPerS: number;
  /** CPU over the offer and the drain, and the reports committed meanwhile: CPU per report, whatever else the machine ran. */
  cpuAll: IngestCpu;
  committedAll: number;
  drained: boolean;
  cpu: IngestCpu;
}

export interface LatencyResult {
  offeredPerS: number;
  offerS: number;
  madePerS: number;
  /** Reports committed in the phase, and per second over the offer plus its drain. */
  committed: number;
  committedPerS: number;
  /** The ingest's histogram over the phase; percentiles interpolated within its buckets. */
  socketToCommit: BucketSummary;
  /** The phase's batches: how many, their mean size and the mean time of their write (what a report waits on besides the queue). */
  batches: { count: number; meanReports: number; meanCommitMs: number };
  /** venue_time → received_at of the phase's executions (ms precision both). */
  madeToTxStart: LatencySummary;
  drained: boolean;
  cpu: IngestCpu;
}

export interface BucketSummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** The bucket bounds each lies between (ms); upper Infinity: beyond the last bucket, the value is its lower bound. */
  p50Bucket: [number, number];
  p99Bucket: [number, number];
}

export interface PgLimitResult {
  batchSize: number;
  batches: number;
  rows: number;
  durationS: number;
  rowsPerS: number;
  /** Each batch's INSERT (its own transaction), as the bench saw it. */
  batchMs: LatencySummary;
  cpu: IngestCpu;
}

export interface TemporalCostResult {
  orders: number;
  /** Submissions that failed (not counted in orders). */
  submitFailed: number;
  /** Orders that ended filled (the others are left out of the counts). */
  filled: number;
  /** Per filled order: mean and max. */
  events: { mean: number; max: number };
  workflowTasks: { mean: number; max: number };
  activities: { mean: number; max: number };
  signals: { total: number; max: number };
  updates: { total: number; max: number };
  /** Orders with more than one terminal event relayed, or more signals + Updates than terminal events (1). */
  overTerminal: number;
  /** The terminal signals (and Updates, of the version before) each order got. */
  terminalMessages: { total: number; max: number };
}

export interface IngestResult {
  batchMax: number;
  batchMs: number;
  orders: number;
  pgLimit: PgLimitResult | { error: string };
  sustained: SustainedResult | { error: string };
  latency: LatencyResult | { error: string };
  /** The same at half the sustained rate, when that is below 10,000/s. */
  latencyWithin?: LatencyResult | { error: string };
  temporal: TemporalCostResult | { error: string };
}

// ---------------------------------------------------------------------------------------------
// Readings

interface Scrape {
  reports: number;
  /** Cumulative counts by upper bound (seconds), ascending, +Inf last. */
  buckets: [number, number][];
  count: number;
  sumS: number;
  /** Batches committed, the reports in them, and the seconds their writes took (BEGIN → COMMIT acknowledged). */
  batches: number;
  batchReports: number;
  commitS: number;
}

async function scrape(bench: Bench): Promise<Scrape> {
  const response = await fetch(bench.infra.ingestMetricsUrl);
  if (!response.ok) throw new Error(`ingest metrics: ${response.status}`);
  const text = await response.text();
  const scrapeValue = (name: string) => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`ingest metrics: no ${name}`);
    return Number(match[1]);
  };
  const buckets: [number, number][] = [];
  for (const match of text.matchAll(/^ingest_socket_to_commit_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) {
    buckets.push([match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2])]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  return {
    reports: scrapeValue('ingest_reports_total'),
    buckets,
    batches: scrapeValue('ingest_batch_reports_count'),
    batchReports: scrapeValue('ingest_batch_reports_sum'),
    commitS: scrapeValue('ingest_batch_commit_seconds_sum'),
    count: scrapeValue('ingest_socket_to_commit_seconds_count'),
    sumS: scrapeValue('ingest_socket_to_commit_seconds_sum'),
  };
}

/** The percentile of the observations between two scrapes, linearly within its bucket (as Prometheus' histogram_quantile). */
function bucketPercentile(before: Scrape, after: Scrape, q: number): { ms: number; bucket: [number, number] } {
  const deltas = after.buckets.map(([le, count], i) => [le, count - (before.buckets[i]?.[1] ?? 0)] as [number, number]);
  const total = deltas.at(-1)?.[1] ?? 0;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of deltas) {
    if (cumulative >= rank && total > 0) {
      if (!Number.isFinite(le)) return { ms: lower * 1000, bucket: [lower * 1000, Number.POSITIVE_INFINITY] };
      const inBucket = cumulative - below;
      const fraction = inBucket > 0 ? (rank - below) / inBucket : 1;
      return { ms: (lower + (le - lower) * fraction) * 1000, bucket: [lower * 1000, le * 1000] };
    }
    lower = le;
    below = cumulative;
  }
  return { ms: Number.NaN, bucket: [Number.NaN, Number.NaN] };
}

function batchesBetween(before: Scrape, after: Scrape): LatencyResult['batches'] {
  const count = after.batches - before.batches;
  return {
    count,
    meanReports: count > 0 ? (after.batchReports - before.batchReports) / count : Number.NaN,
    meanCommitMs: count > 0 ? ((after.commitS - before.commitS) / count) * 1000 : Number.NaN,
  };
}

function summariseBuckets(before: Scrape, after: Scrape): BucketSummary {
  const count = after.count - before.count;
  const p50 = bucketPercentile(before, after, 0.5);
  const p99 = bucketPercentile(before, after, 0.99);
  return {
    count,
    meanMs: count > 0 ? ((after.sumS - before.sumS) / count) * 1000 : Number.NaN,
    p50Ms: p50.ms,
    p99Ms: p99.ms,
    p50Bucket: p50.bucket,
    p99Bucket: p99.bucket,
  };
}

async function venueMade(bench: Bench): Promise<number> {
  const response = await fetch(`${bench.infra.venueControlUrl}/control/stats`);
  if (!response.ok) throw new Error(`venue stats: ${response.status}`);
  return ((await response.json()) as { next_seq: number }).next_seq - 1;
}

async function committed(bench: Bench): Promise<number> {
  const { rows } = await bench.pool.query<{ next_seq: number }>(
    'SELECT next_seq::float8 AS next_seq FROM venue_sessions WHERE session = $1',
    [SESSION],
  );
  return (rows[0]?.next_seq ?? 1) - 1;
}

function ingestCpuMeter(bench: Bench): () => IngestCpu {
  const read = () => ({
    venue: treeCpuSeconds(bench.infra.venuePid),
    ingest: treeCpuSeconds(bench.infra.ingestPid),
    postgres: treeCpuSeconds(bench.infra.postgresPid),
    bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  });
  const before = read();
  const machineBefore = machineCpu();
  const t0 = performance.now();
  return () => {
    const after = read();
    const machineAfter = machineCpu();
    const s = (performance.now() - t0) / 1000;
    const totalS = machineAfter.totalS - machineBefore.totalS;
    const seconds = {
      venue: after.venue - before.venue,
      ingest: after.ingest - before.ingest,
      postgres: after.postgres - before.postgres,
      bench: after.bench - before.bench,
    };
    return {
      cores: { venue: seconds.venue / s, ingest: seconds.ingest / s, postgres: seconds.postgres / s, bench: seconds.bench / s },
      seconds,
      elapsedS: s,
      machineBusyPct: totalS > 0 ? (100 * (machineAfter.busyS - machineBefore.busyS)) / totalS : Number.NaN,
    };
  };
}

/** Until the ingest has committed every report the venue made (false: gave up after timeoutMs). */
async function untilCaughtUp(bench: Bench, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [made, done] = await Promise.all([venueMade(bench), committed(bench)]);
    if (done >= made) return true;
    if (Date.now() > deadline) {
      bench.log(`  ingest: gave up waiting, ${made - done} reports not committed`);
      return false;
    }
    await sleep(200);
  }
}

async function offerLoad(bench: Bench, orderIds: string[], instrument: string, rate: number, durationS: number): Promise<void> {
  const response = await fetch(`${bench.infra.venueControlUrl}/control/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ order_ids: orderIds, quantity: 1_000_000_000, reports_per_second: rate, duration_s: durationS, instrument }),
  });
  if (response.status !== 202) throw new Error(`venue load: ${response.status} ${await response.text()}`);
}

// ---------------------------------------------------------------------------------------------
// The phases

async function pgLimit(bench: Bench, orderIds: string[], batchSize: number, durationS: number): Promise<PgLimitResult> {
  // The ingest's own COPY (ingest/batch-rows.ts copyExecutions), rows shaped as a load
  // fill's: one share at a fixed price, round robin over the same orders.
  const run = randomUUID().slice(0, 8);
  const venue = 'BENCHPG';
  const client = await bench.pool.connect();
  const times: number[] = [];
  let rows = 0;
  try {
    const cpu = ingestCpuMeter(bench);
    const started = performance.now();
    let n = 0;
    while ((performance.now() - started) / 1000 < durationS) {
      const transactTime = new Date().toISOString();
      const reports: ExecutionReport[] = Array.from({ length: batchSize }, (_, i) => {
        const seq = n + i + 1;
        const cum = Math.floor(seq / orderIds.length) + 1;
        return {
          type: 'execution_report',
          seq,
          poss_dup: false,
          venue,
          exec_id: `PG-${run}-${seq}`,
          order_id: orderIds[seq % orderIds.length]!,
          exec_type: 'partial_fill',
          order_status: 'partially_filled',
          side: 'buy',
          last_qty: 1,
          last_px: '187.2500',
          cum_qty: cum,
          leaves_qty: 1_000_000_000 - cum,
          avg_px: '187.250000',
          transact_time: transactTime,
          ref_exec_id: null,
          text: null,
        };
      });
      const t = performance.now();
      // Its own transaction (autocommit), as each of the ingest's batches commits.
      rows += await copyExecutions(client, reports, null);
      times.push(performance.now() - t);
      n += batchSize;
    }
    const elapsedS = (performance.now() - started) / 1000;
    const cpuUse = cpu();
    return {
      batchSize,
      batches: times.length,
      rows,
      durationS: elapsedS,
      rowsPerS: rows / elapsedS,
      batchMs: summariseMs(times),
      cpu: cpuUse,
    };
  } finally {
    // Not the venue's: out of the table again, so that the orders' executions are the ingest's alone.
    await client.query('DELETE FROM executions WHERE venue = $1', [venue]).catch(() => {});
    client.release();
  }
}

async function sustained(bench: Bench, orderIds: string[], instrument: string, offerS: number, drainS: number): Promise<SustainedResult> {
  if (!(await untilCaughtUp(bench, 60_000))) throw new Error('the ingest was not caught up before the sustained run');
  const samples: { t: number; made: number; done: number }[] = [];
  const sample = async () => {
    const [made, done] = await Promise.all([venueMade(bench), committed(bench)]);
    samples.push({ t: (performance.now() - started) / 1000, made, done });
  };
  const cpu = ingestCpuMeter(bench);
  const cpuAll = ingestCpuMeter(bench);
  const started = performance.now();
  await sample();
  await offerLoad(bench, orderIds, instrument, OVERLOAD_RATE, offerS);
  while ((performance.now() - started) / 1000 < offerS) {
    await sleep(250);
    await sample();
  }
  const cpuUse = cpu();
  const first = samples.find((s) => s.t >= 1) ?? samples[0]!;
  const end = samples.at(-1)!;
  const offering = samples.filter((s) => s.t >= first.t);
  bench.log(`  ingest: ${end.made - end.done} reports made and not committed at the end of the offer; draining`);
  const drainStart = performance.now();
  const drained = await untilCaughtUp(bench, drainS * 1000);
  const afterDrain = await committed(bench);
  const cpuAllUse = cpuAll();
  const drainSeconds = (performance.now() - drainStart) / 1000;
  return {
    offeredPerS: OVERLOAD_RATE,
    offerS: end.t,
    madePerS: (end.made - samples[0]!.made) / end.t,
    committedPerS: (end.done - first.done) / (end.t - first.t),
    backlogAtEnd: end.made - end.done,
    backlogMin: Math.min(...offering.map((s) => s.made - s.done)),
    drainPerS: drainSeconds > 0.5 ? (afterDrain - end.done) / drainSeconds : Number.NaN,
    saturatedPerS: (afterDrain - first.done) / (end.t - first.t + drainSeconds),
    cpuAll: cpuAllUse,
    committedAll: afterDrain - samples[0]!.done,
    drained,
    cpu: cpuUse,
  };
}

async function latency(
  bench: Bench,
  orderIds: string[],
  instrument: string,
  rate: number,
  offerS: number,
  drainS: number,
): Promise<LatencyResult> {
  if (!(await untilCaughtUp(bench, 60_000))) throw new Error('the ingest was not caught up before the latency run');
  const before = await scrape(bench);
  const madeBefore = await venueMade(bench);
  const cpu = ingestCpuMeter(bench);
  const started = performance.now();
  await offerLoad(bench, orderIds, instrument, rate, offerS);
  await sleep(offerS * 1000);
  const madeAtEnd = await venueMade(bench);
  const drained = await untilCaughtUp(bench, drainS * 1000);
  const cpuUse = cpu();
  const elapsedS = (performance.now() - started) / 1000;
  const after = await scrape(bench);
  const madeAfter = await venueMade(bench);
  const { rows } = await bench.pool.query<{ ms: number }>(
    `SELECT (extract(epoch FROM received_at - venue_time) * 1000)::float8 AS ms FROM executions
      WHERE seq > $1 AND seq <= $2 AND order_id = ANY($3::uuid[])`,
    [madeBefore, madeAfter, orderIds],
  );
  return {
    offeredPerS: rate,
    offerS,
    madePerS: (madeAtEnd - madeBefore) / offerS,
    committed: after.reports - before.reports,
    committedPerS: (after.reports - before.reports) / elapsedS,
    socketToCommit: summariseBuckets(before, after),
    batches: batchesBetween(before, after),
    madeToTxStart: summariseMs(rows.map((row) => Math.max(0, row.ms))),
    drained,
    cpu: cpuUse,
  };
}

async function temporalCost(bench: Bench, count: number): Promise<TemporalCostResult> {
  const instrument = instrumentFor('ingestwf');
  const queue = queueFor('ingestwf');
  const worker = await startWorker('worker-ingestwf', serviceEnv(bench, queue));
  try {
    // The API's own path in this process, as the placement runs submit (no API process needed).
    const placement = createPlacementStarter(bench.temporal, queue, bench.config.TEMPORAL_START_CONCURRENCY);
    const order = newOrder(instrument);
    const ids: string[] = [];
    let failed = 0;
    for (let i = 0; i < count; i += 5) {
      const batch = await Promise.allSettled(
        Array.from({ length: Math.min(5, count - i) }, () =>
          submitOrder({ orders: bench.orders, placement, budgetMs: bench.config.ORDER_BUDGET_MS }, order),
        ),
      );
      for (const outcome of batch) {
        if (outcome.status === 'fulfilled') ids.push(outcome.value.id);
        else failed += 1;
      }
    }
    if (failed > 0) bench.log(`  ingest: ${failed} of ${count} submissions failed`);
    // Placed, filled by the scripted venue at once, ingested, the fill's end relayed as a signal.
    await untilEnded(bench, ids, 180_000);
    const { rows } = await bench.pool.query<{ id: string; status: string }>(
      'SELECT id, status::text AS status FROM orders WHERE id = ANY($1::uuid[])',
      [ids],
    );
    const filled = rows.filter((row) => row.status === 'filled').map((row) => row.id);
    const per: { events: number; tasks: number; activities: number; signals: number; updates: number; terminal: number }[] = [];
    for (const id of filled) {
      const handle = bench.temporal.workflow.getHandle(workflowIdFor(id));
      // The workflow completes right after its terminal signal: its history is then whole.
      await Promise.race([handle.result().catch(() => undefined), sleep(30_000)]);
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const counted = { events: events.length, tasks: 0, activities: 0, signals: 0, updates: 0, terminal: 0 };
      for (const event of events) {
        if (event.workflowTaskScheduledEventAttributes) counted.tasks += 1;
        if (event.activityTaskScheduledEventAttributes) counted.activities += 1;
        const signalled = event.workflowExecutionSignaledEventAttributes;
        if (signalled) {
          counted.signals += 1;
          if (signalled.signalName === orderTerminalSignal.name) counted.terminal += 1;
        }
        const accepted = event.workflowExecutionUpdateAcceptedEventAttributes;
        if (accepted) {
          counted.updates += 1;
          if (accepted.acceptedRequest?.input?.name === orderTerminalUpdate.name) counted.terminal += 1;
        }
      }
      per.push(counted);
    }
    const stat = (pick: (p: (typeof per)[number]) => number) => ({
      mean: per.length ? per.reduce((sum, p) => sum + pick(p), 0) / per.length : Number.NaN,
      max: Math.max(0, ...per.map(pick)),
    });
    const total = (pick: (p: (typeof per)[number]) => number) => ({
      total: per.reduce((sum, p) => sum + pick(p), 0),
      max: Math.max(0, ...per.map(pick)),
    });
    return {
      orders: ids.length,
      submitFailed: failed,
      filled: filled.length,
      events: stat((p) => p.events),
      workflowTasks: stat((p) => p.tasks),
      activities: stat((p) => p.activities),
      signals: total((p) => p.signals),
      updates: total((p) => p.updates),
      terminalMessages: total((p) => p.terminal),
      // A filled order has one terminal event: no more signals and Updates than that.
      overTerminal: per.filter((p) => p.terminal > 1 || p.signals + p.updates > 1).length,
    };
  } finally {
    await worker.stop();
  }
}

/** Until every order is in a final status and its terminal event relayed (or timeoutMs passed). */
async function untilEnded(bench: Bench, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await bench.pool.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM orders o LEFT JOIN order_terminal_outbox t ON t.order_id = o.id
        WHERE o.id = ANY($1::uuid[]) AND (o.status::text <> ALL($2::text[]) OR t.relayed_at IS NULL)`,
      [ids, FINAL_STATUSES],
    );
    const open = rows[0]?.open ?? 0;
    if (open === 0) return;
    if (Date.now() > deadline) {
      bench.log(`  ingest: ${open} of ${ids.length} orders not ended (or their end not relayed) after ${timeoutMs / 1000} s`);
      return;
    }
    await sleep(250);
  }
}

async function phase<T>(bench: Bench, name: string, run: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await run();
  } catch (error) {
    bench.log(`ingest ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export async function ingestScenario(bench: Bench): Promise<IngestResult> {
  const short = bench.profile.name === 'short';
  // What the infra's ingest process reads (this process's environment, INGEST_BATCH_MAX=… to
  // try another batch size), read here the same way rather than repeated.
  const settings = loadIngestConfig({ ...process.env, DATABASE_URL: bench.infra.databaseUrl });
  const instrument = instrumentFor('ingest');
  // Working gtc limit orders of a quantity no run fills: the load mode adopts them at the venue.
  const { rows } = await bench.pool.query<{ id: string }>(
    `INSERT INTO orders (type, side, instrument, limit_price, quantity, status, time_in_force, placed_at)
     SELECT 'limit', 'buy', $1, 500, 1000000000, 'placed', 'gtc', now() FROM generate_series(1, $2) RETURNING id`,
    [instrument, ORDERS],
  );
  const orderIds = rows.map((row) => row.id);

  // The Temporal part first, on a quiet ingest: its orders are placed and filled in seconds then.
  const wfOrders = short ? 20 : 100;
  bench.log(`ingest: Temporal cost of ${wfOrders} orders placed and filled`);
  const wf = await phase(bench, 'Temporal cost', () => temporalCost(bench, wfOrders));
  bench.log(`ingest: PostgreSQL's own limit, the executions COPY alone, batches of ${settings.INGEST_BATCH_MAX}`);
  const pg = await phase(bench, 'PostgreSQL limit', () => pgLimit(bench, orderIds, settings.INGEST_BATCH_MAX, short ? 5 : 20));
  // What the venue makes beyond the ingest's rate waits for it: the drains below take as long as
  // the backlog needs at that rate (minutes if it is far below the offer).
  // The target is a rate held for 60 s (issue #23): the full run offers that long.
  const offerS = short ? 4 : 60;
  bench.log(`ingest: ${OVERLOAD_RATE} reports/s offered for ${offerS} s over ${ORDERS} orders (more than it takes)`);
  const sus = await phase(bench, 'sustained', () => sustained(bench, orderIds, instrument, offerS, short ? 120 : 600));
  const latencyS = short ? 5 : 15;
  bench.log(`ingest: ${LATENCY_RATE} reports/s offered for ${latencyS} s, socket-to-commit latency`);
  const lat = await phase(bench, 'latency', () => latency(bench, orderIds, instrument, LATENCY_RATE, latencyS, short ? 120 : 600));
  // Below 10,000/s sustained, the 10,000/s latency is a queue's: also at half the rate it keeps up with.
  const sustainedRate = 'error' in sus ? Number.NaN : sus.saturatedPerS;
  let within: IngestResult['latencyWithin'];
  if (Number.isFinite(sustainedRate) && sustainedRate < LATENCY_RATE) {
    const rate = Math.max(100, Math.round(sustainedRate / 2 / 100) * 100);
    bench.log(`ingest: ${rate} reports/s offered for ${latencyS} s (half the sustained rate), socket-to-commit latency`);
    within = await phase(bench, 'latency within', () => latency(bench, orderIds, instrument, rate, latencyS, short ? 120 : 600));
  }
  return {
    batchMax: settings.INGEST_BATCH_MAX,
    batchMs: settings.INGEST_BATCH_MS,
    orders: ORDERS,
    pgLimit: pg,
    sustained: sus,
    latency: lat,
    ...(within ? { latencyWithin: within } : {}),
    temporal: wf,
  };
}
