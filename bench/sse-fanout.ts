// GET /events as the service is used (issue #23's shape, bench/sse-shape.ts): 2 API processes;
// thousands of accounts, a few of which carry most of a steady flow of fills written straight into
// order_stream (bench/sse-writer.ts, as the ingestion writes them); 2–3 streams per account, one
// in ten following one order; 1% of the streams reconnecting each second with a Last-Event-ID
// received 1–30 s before; the clients in processes of their own (bench/sse-client-runner.ts).
// Every stream's every event is checked: its scope's, in order, none missing, none repeated. The
// lag is measured from an event's commit (as the writer saw it acknowledged) to its first arrival
// at each stream, for one event in `sampleEvery`. CPU: each API, PostgreSQL (and of it, the
// stream's reads), the clients, over the flow.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateApiKey } from '../prisma/api-key-secrets.js';
import { type LatencySummary, newHistogram, recordMs, summarise } from './histogram.js';
import { cpuSeconds, loadAverage, machineCpu, treeCpuSeconds } from './proc.js';
import type { Bench } from './scenarios.js';
import { type Service, startApi } from './services.js';
import type { Violations } from './sse-check.js';
import { sampleBackends } from './sse-postgres-cpu.js';
import type { RunnerReport, RunnerStream, ToParent, ToRunner } from './sse-runner-protocol.js';
import { flowSchedule, planStreams, type SseShape, shareOfTop, sseShape } from './sse-shape.js';
import { checkWrittenOrder, type FlowResult, writeFlow } from './sse-writer.js';

export interface SseResult {
  shape: SseShape;
  /** The flow's share of the largest account, and of the largest 1% of the accounts. */
  topShare: number;
  top1PctShare: number;
  produced: number;
  flowS: number;
  slowestInsertMs: number;
  /** The written rows in stream order: how many, and how many came before an earlier exec (the check's premise broken). */
  written: { rows: number; misordered: number };
  streams: number;
  opened: number;
  reconnects: number;
  serverEnds: number;
  errors: number;
  firstError: string | undefined;
  resumeAgeS: { min: number; p50: number; max: number };
  received: number;
  delivered: number;
  expected: number;
  complete: number;
  violations: Violations;
  notes: string[];
  /** Commit acknowledged → first arrival at a stream (sampled events, every stream they reach). */
  lag: LatencySummary;
  cores: { apis: number[]; postgres: number; postgresStream: number; postgresWriter: number; clients: number; bench: number };
  machineBusyPct: number;
  loadBefore: string;
  loadAfter: string;
}

const RUNNER = fileURLToPath(new URL('./sse-client-runner.ts', import.meta.url));

interface Setup {
  accountIds: string[];
  apiKeys: string[];
  /** Each account's orders, by index. */
  orders: string[][];
}

/** The accounts, each with a key and its orders (placed, so that fills are what comes next). */
async function createAccounts(pool: pg.Pool, shape: SseShape): Promise<Setup> {
  const prefix = `bench-sse-${Date.now()}-`;
  const { rows: created } = await pool.query<{ id: string; name: string }>(
    `INSERT INTO "accounts" ("name") SELECT $1 || k FROM generate_series(0, $2::int - 1) k RETURNING "id", "name"`,
    [prefix, shape.accounts],
  );
  const accountIds: string[] = [];
  for (const row of created) accountIds[Number(row.name.slice(prefix.length))] = row.id;
  const keys = accountIds.map(() => generateApiKey());
  await pool.query(
    `INSERT INTO "api_keys" ("key_id", "account_id", "secret_hash") SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[])`,
    [keys.map((key) => key.keyId), accountIds, keys.map((key) => key.secretHash)],
  );
  const { rows: orders } = await pool.query<{ id: string; account_id: string }>(
    `INSERT INTO "orders" ("type", "side", "instrument", "quantity", "status", "placed_at", "account_id")
     SELECT 'market', 'buy', 'BSSE00000000', 1000000, 'placed', now(), a FROM unnest($1::uuid[]) a, generate_series(1, $2::int)
     RETURNING "id", "account_id"`,
    [accountIds, shape.ordersPerAccount],
  );
  const byAccount = new Map<string, string[]>(accountIds.map((id) => [id, []]));
  for (const order of orders) byAccount.get(order.account_id)!.push(order.id);
  return { accountIds, apiKeys: keys.map((key) => key.apiKey), orders: accountIds.map((id) => byAccount.get(id)!) };
}

/**
 * Where every stream starts: the last event of the run's accounts (their orders' status rows),
 * once it is below every open transaction (the API serves nothing beyond), so each stream's
 * events are exactly the flow's of its scope.
 */
async function streamStart(pool: pg.Pool, accountIds: string[]): Promise<string> {
  for (;;) {
    const { rows } = await pool.query<{ id: string; finished: boolean }>(
      `SELECT ("tx"::numeric * 10000000000000 + "id")::text AS "id",
              "tx" < pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS "finished"
       FROM "order_stream" WHERE "account_id" = ANY($1::uuid[]) ORDER BY "tx" DESC, "id" DESC LIMIT 1`,
      [accountIds],
    );
    if (rows[0]?.finished) return rows[0].id;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Runner {
  child: ChildProcess;
  ready: Promise<void>;
  report: Promise<RunnerReport>;
  send(message: ToRunner): void;
}

function forkRunner(onArrivals: (execs: number[], ats: number[]) => void): Runner {
  const child = fork(RUNNER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`an SSE client runner exited (${signal ?? code})`))),
  );
  exited.catch(() => {});
  // A message to a runner that is gone: its exit is the failure that counts.
  child.on('error', () => {});
  let markReady: () => void = () => {};
  let deliver: (report: RunnerReport) => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const report = new Promise<RunnerReport>((resolve) => {
    deliver = resolve;
  });
  child.on('message', (message: ToParent) => {
    if (message.type === 'ready') markReady();
    else if (message.type === 'arrivals') onArrivals(message.execs, message.ats);
    else deliver(message);
  });
  // Handled here too: a run that fails before awaiting them kills its runners, and their exits must not crash the bench.
  const settled = <T>(promise: Promise<T>) => {
    promise.catch(() => {});
    return promise;
  };
  return {
    child,
    ready: settled(Promise.race([ready, exited])),
    report: settled(Promise.race([report, exited])),
    send: (message) => child.send(message),
  };
}

/** The warnings and errors of a service's JSON log, by message. */
function warningCounts(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!/"level":"(warn|error|fatal)"/.test(line)) continue;
    const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    const what = `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`.slice(0, 200);
    counts[what] = (counts[what] ?? 0) + 1;
  }
  return counts;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

function percentileOf(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Each sampled arrival's lag behind the commit of its batch (the last batch starting at or below its exec). */
function lagsFromCommit(commits: FlowResult['commits'], execs: number[], ats: number[]): LatencySummary {
  const histogram = newHistogram();
  for (let i = 0; i < execs.length; i++) {
    let low = 0;
    let high = commits.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (commits[middle]!.first <= execs[i]!) low = middle;
      else high = middle - 1;
    }
    const commit = commits[low];
    if (commit && commit.first <= execs[i]!) recordMs(histogram, Math.max(0, ats[i]! - commit.at));
  }
  const summary = summarise(histogram);
  histogram.destroy();
  return summary;
}

function addViolations(total: Violations, more: Violations): Violations {
  return {
    foreign: total.foreign + more.foreign,
    outOfOrder: total.outOfOrder + more.outOfOrder,
    missing: total.missing + more.missing,
    repeated: total.repeated + more.repeated,
  };
}

export async function sseFanOut(bench: Bench): Promise<SseResult> {
  const shape = sseShape(bench.profile.name);
  const loadBefore = loadAverage();
  bench.log(
    `SSE: ${shape.name === 'full' ? "the issue's shape" : `${shape.scale} of the issue's shape`}: ${shape.accounts} accounts, ` +
      `${shape.rate} events/s for ${shape.flowS} s, ${shape.streams} streams on ${shape.apis} APIs, ${shape.runners} client processes; load ${loadBefore}`,
  );
  const apis: Service[] = [];
  const runners: Runner[] = [];
  const writer = new pg.Client({ connectionString: bench.infra.databaseUrl, application_name: 'bench:sse-writer' });
  try {
    const env = {
      DATABASE_URL: bench.infra.databaseUrl,
      TEMPORAL_ADDRESS: bench.infra.temporalAddress,
      LOG_LEVEL: 'warn',
      // The clients carry their account's key.
      AUTH_REQUIRED: 'true',
      // An account's streams open and reconnect together: the per-account limit would refuse them.
      RATE_LIMIT_PER_MINUTE: '100000000',
      // A process may get every stream (reconnects go to either).
      SSE_MAX_CLIENTS: String(shape.streams + 100),
      // The clients are measured, not cut: a backlog shows as lag.
      SSE_CLIENT_BUFFER_BYTES: String(512 * 1024 * 1024),
      ...(shape.ringSize === undefined ? {} : { SSE_RING_SIZE: String(shape.ringSize) }),
    };
    apis.push(...(await Promise.all(Array.from({ length: shape.apis }, (_, i) => startApi(`api-sse-${i}`, env)))));
    await writer.connect();
    const setup = await createAccounts(bench.pool, shape);
    const startId = await streamStart(bench.pool, setup.accountIds);
    const schedule = flowSchedule(shape.accounts);

    const arrivals = { execs: [] as number[], ats: [] as number[] };
    const plans = planStreams(shape);
    bench.log(`SSE: opening ${plans.length} streams from ${shape.runners} client processes`);
    for (let r = 0; r < shape.runners; r++) {
      const runner = forkRunner((execs, ats) => {
        for (let i = 0; i < execs.length; i++) {
          arrivals.execs.push(execs[i]!);
          arrivals.ats.push(ats[i]!);
        }
      });
      runners.push(runner);
      const streams: RunnerStream[] = plans
        .filter((_, i) => i % shape.runners === r)
        .map((plan) => ({
          ...plan,
          orderId: plan.order === null ? null : setup.orders[plan.account]![plan.order]!,
          apiKey: setup.apiKeys[plan.account]!,
        }));
      runner.send({
        type: 'init',
        apis: apis.map((api) => api.url),
        streams,
        startId,
        reconnectsPerStreamS: shape.reconnectsPerStreamS,
        resumeAgeS: shape.resumeAgeS,
        sampleEvery: shape.sampleEvery,
        openConcurrency: 20,
      });
    }
    await Promise.all(runners.map((runner) => runner.ready));

    bench.log(`SSE: ${shape.rate} events/s for ${shape.flowS} s; ${shape.streams * shape.reconnectsPerStreamS} reconnects/s`);
    const writerPid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const cpuOf = () => ({
      apis: apis.map((api) => treeCpuSeconds(api.pid)),
      postgres: treeCpuSeconds(bench.infra.postgresPid),
      writer: cpuSeconds(writerPid) ?? 0,
      clients: sum(runners.map((runner) => treeCpuSeconds(runner.child.pid!))),
      bench: process.cpuUsage(),
      machine: machineCpu(),
    });
    const streamReads = await sampleBackends(bench.pool, 'api:events');
    const before = cpuOf();
    for (const runner of runners) runner.send({ type: 'flow' });
    const flow = await writeFlow(writer, { rate: shape.rate, durationS: shape.flowS, schedule, orders: setup.orders });
    const after = cpuOf();
    const streamCpuS = await streamReads.stop();
    bench.log(`SSE: ${flow.produced} events written in ${flow.flowS.toFixed(1)} s; slowest insert ${flow.slowestInsertMs.toFixed(0)} ms`);

    const deadline = Date.now() + (shape.name === 'full' ? 60_000 : 30_000);
    for (const runner of runners) runner.send({ type: 'drain', totals: flow.totals, deadline });
    const reports = await Promise.all(runners.map((runner) => runner.report));
    const loadAfter = loadAverage();
    const written = await checkWrittenOrder(writer, setup.accountIds);

    const violations = reports.map((report) => report.violations).reduce(addViolations);
    const ages = reports.flatMap((report) => report.resumeAgesS).sort((a, b) => a - b);
    const result: SseResult = {
      shape,
      topShare: shareOfTop(schedule, 1),
      top1PctShare: shareOfTop(schedule, Math.max(1, Math.round(shape.accounts / 100))),
      produced: flow.produced,
      flowS: flow.flowS,
      slowestInsertMs: flow.slowestInsertMs,
      written,
      streams: sum(reports.map((report) => report.streams)),
      opened: sum(reports.map((report) => report.opened)),
      reconnects: sum(reports.map((report) => report.reconnects)),
      serverEnds: sum(reports.map((report) => report.serverEnds)),
      errors: sum(reports.map((report) => report.errors)),
      firstError: reports.find((report) => report.firstError)?.firstError,
      resumeAgeS: { min: ages[0] ?? Number.NaN, p50: percentileOf(ages, 50), max: ages.at(-1) ?? Number.NaN },
      received: sum(reports.map((report) => report.received)),
      delivered: sum(reports.map((report) => report.delivered)),
      expected: sum(reports.map((report) => report.expected)),
      complete: sum(reports.map((report) => report.complete)),
      violations,
      notes: reports.flatMap((report) => report.notes).slice(0, 5),
      lag: lagsFromCommit(flow.commits, arrivals.execs, arrivals.ats),
      cores: {
        apis: apis.map((_, i) => (after.apis[i]! - before.apis[i]!) / flow.flowS),
        postgres: (after.postgres - before.postgres) / flow.flowS,
        postgresStream: streamCpuS / flow.flowS,
        postgresWriter: (after.writer - before.writer) / flow.flowS,
        clients: (after.clients - before.clients) / flow.flowS,
        bench: (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6 / flow.flowS,
      },
      machineBusyPct: (100 * (after.machine.busyS - before.machine.busyS)) / Math.max(1e-9, after.machine.totalS - before.machine.totalS),
      loadBefore,
      loadAfter,
    };
    const faults = sum(Object.values(violations));
    if (faults > 0 || result.complete < result.streams) {
      bench.log(`SSE: ${faults} violations, ${result.streams - result.complete} streams incomplete; first: ${result.notes.join(' | ')}`);
    }
    // Why the server ended or refused streams (a catch-up's read that failed, a slow client cut, a 500): the APIs' warnings.
    if (faults > 0 || result.complete < result.streams || result.serverEnds > 0 || result.errors > 0) {
      for (const api of apis) bench.log(`SSE: ${api.name}'s warnings: ${JSON.stringify(warningCounts(api.output()))}`);
    }
    return result;
  } finally {
    for (const runner of runners) runner.child.kill();
    await writer.end().catch(() => {});
    await Promise.all(apis.map((api) => api.stop()));
  }
}
