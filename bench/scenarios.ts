// The measurements. Each scenario runs against the benchmark's own PostgreSQL and Temporal, on a
// task queue of its own, and tags its orders with an instrument of its own, so that no scenario
// sees another's orders or workflows (a stopped worker's leftovers stay on a queue nobody polls).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { createPlacementStarter } from '../api/placement-client.js';
import { submitOrder } from '../api/submit-order.js';
import { type Config, loadConfig } from '../config/config.js';
import { AT_VENUE_STATUSES, type NewOrder, type OrderTicket } from '../domain/order.js';
import { createPrismaClient, type PrismaClient } from '../prisma/client.js';
import { OrdersRepository } from '../prisma/orders-repository.js';
import { writeWorkflowBundle } from '../worker/workflow-bundle.js';
import { type LatencySummary, summariseMs } from './histogram.js';
import { readHistories, summariseHistories } from './history.js';
import type { Infra } from './infra.js';
import { type BurstLoadResult, burstLoad, closedLoop, httpLoad, type LoadResult } from './load.js';
import { orderTimes, spreadSample } from './order-time.js';
import { LatencyBySecond } from './per-second.js';
import { listenOverflows, machineCpu, rssBytes, treeCpuSeconds } from './proc.js';
import type { Profile } from './profile.js';
import { type Service, startApi, startHttpService, startWorker } from './services.js';
import { buildTimeline, type Timeline } from './timeline.js';

/** The worker's activity slots: the SDK's default (maxConcurrentActivityTaskExecutions), which worker/worker.ts keeps. */
export const ACTIVITY_SLOTS = 100;
/** The simulated venue's default latency, in seconds (its EXCHANGE_LATENCY_MS, exchange/venue-config.ts). */
export const EXCHANGE_LATENCY_S = 0.5;

export interface Bench {
  profile: Profile;
  infra: Infra;
  config: Config;
  log: (message: string) => void;
  /** For the benchmark's own queries (counting placed orders, reading lags). */
  pool: pg.Pool;
  prisma: PrismaClient;
  orders: OrdersRepository;
  temporal: Client;
  /** The workflow code, bundled once for every worker process (WORKFLOW_BUNDLE_PATH). */
  workflowBundlePath: string;
  close(): Promise<void>;
}

export async function openBench(profile: Profile, infra: Infra, log: (message: string) => void): Promise<Bench> {
  // The service's defaults (pool size, timeouts), pointed at the benchmark's servers.
  const config = loadConfig({ DATABASE_URL: infra.databaseUrl, TEMPORAL_ADDRESS: infra.temporalAddress, LOG_LEVEL: 'warn' });
  const pool = new pg.Pool({ connectionString: infra.databaseUrl, max: 2 });
  const prisma = createPrismaClient({
    url: config.DATABASE_URL,
    poolSize: config.DB_POOL_SIZE,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
  });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  // Workers load one prebuilt bundle, as the container image's do: bundling at every worker
  // start would spend seconds of CPU in the middle of the measurements.
  const bundleDir = await mkdtemp(path.join(os.tmpdir(), 'order-service-bench-bundle-'));
  const workflowBundlePath = path.join(bundleDir, 'workflow-bundle.js');
  await writeWorkflowBundle(workflowBundlePath);
  return {
    profile,
    infra,
    config,
    log,
    pool,
    prisma,
    orders: new OrdersRepository(prisma),
    temporal,
    workflowBundlePath,
    async close() {
      await Promise.allSettled([pool.end(), prisma.$disconnect(), connection.close(), rm(bundleDir, { recursive: true, force: true })]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Orders and where the CPU went

/** A 12-character instrument that marks one scenario's orders. */
export function instrumentFor(code: string): string {
  return `B${code}`.toUpperCase().padEnd(12, '0').slice(0, 12);
}

/**
 * A buy limit above every reference price the venue derives for an instrument (10–499.99), so
 * that it is marketable: the scripted venue fills it at once and its workflow ends, rather than
 * resting there until the close.
 */
const LIMIT_PRICE = '500.00';

export function newOrder(instrument: string): NewOrder {
  return { type: 'limit', side: 'buy', instrument, limitPrice: LIMIT_PRICE, quantity: 10, timeInForce: 'day' };
}

export function orderBody(instrument: string): string {
  return JSON.stringify({ type: 'limit', side: 'buy', instrument, limit_price: Number(LIMIT_PRICE), quantity: 10 });
}

/** Statuses of an order the venue has (or had): it counts as placed, whatever its fills made of it since. */
const PLACED_STATUSES: readonly string[] = AT_VENUE_STATUSES;

/** CPU used during a scenario, in cores (CPU seconds per second), per process group. */
export interface CpuUse {
  cores: Record<string, number>;
  /** How busy the whole machine was, whoever used it (other work runs on it too). */
  machineBusyPct: number;
}

export function cpuMeter(bench: Bench, groups: Record<string, Service[]>): () => CpuUse {
  const readers: Record<string, () => number> = {
    bench: () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1e6;
    },
    postgres: () => treeCpuSeconds(bench.infra.postgresPid),
    venue: () => treeCpuSeconds(bench.infra.venuePid),
    ingest: () => treeCpuSeconds(bench.infra.ingestPid),
    ...(bench.infra.temporalPid === null ? {} : { temporal: () => treeCpuSeconds(bench.infra.temporalPid!) }),
  };
  for (const [name, services] of Object.entries(groups)) {
    readers[name] = () => services.reduce((sum, service) => sum + treeCpuSeconds(service.pid), 0);
  }
  const read = () => Object.fromEntries(Object.entries(readers).map(([name, reader]) => [name, reader()]));
  const before = read();
  const machineBefore = machineCpu();
  const t0 = performance.now();
  return () => {
    const after = read();
    const machineAfter = machineCpu();
    const elapsedS = (performance.now() - t0) / 1000;
    const cores = Object.fromEntries(Object.keys(after).map((name) => [name, (after[name]! - before[name]!) / elapsedS]));
    const totalS = machineAfter.totalS - machineBefore.totalS;
    return { cores, machineBusyPct: totalS > 0 ? (100 * (machineAfter.busyS - machineBefore.busyS)) / totalS : NaN };
  };
}

export function serviceEnv(bench: Bench, taskQueue: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: bench.infra.databaseUrl,
    TEMPORAL_ADDRESS: bench.infra.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    VENUE_ADDRESS: bench.infra.venueAddress,
    WORKFLOW_BUNDLE_PATH: bench.workflowBundlePath,
    // Without keys, as the demo account, never refused: the 'auth' scenario measures what keys cost.
    // The limiter still runs on every request (RATE_LIMIT_KEYLESS), as it does for keys in production.
    AUTH_REQUIRED: 'false',
    RATE_LIMIT_KEYLESS: 'true',
    RATE_LIMIT_PER_MINUTE: '100000000',
    ...extra,
  };
}

export function queueFor(code: string): string {
  return `bench-${code}-${randomUUID().slice(0, 8)}`;
}

// ---------------------------------------------------------------------------------------------
// 2. The limits: each part of POST /orders alone, at the same concurrency for the same time

export interface Measured extends LoadResult {
  cpu: CpuUse;
  /** What the API processes logged as errors during the run (500s), by message. */
  serverErrors?: Record<string, number>;
}

/** (a) HTTP + validation alone: the project's own pieces in a tiny Koa server, no DB, no Temporal. */
export async function limitHttpOnly(bench: Bench): Promise<Measured> {
  const { profile } = bench;
  const server = await startHttpService('http-only', 'bench/http-only-server.ts', {});
  try {
    const load = { urls: [server.url], connections: profile.connections, body: orderBody(instrumentFor('limitht')) };
    await httpLoad({ ...load, durationS: profile.warmupS });
    const cpu = cpuMeter(bench, { server: [server] });
    const result = await httpLoad({ ...load, durationS: profile.durationS });
    return { ...result, cpu: cpu() };
  } finally {
    await server.stop();
  }
}

/** (b) The INSERT alone: OrdersRepository.create through Prisma with the service's pool size. */
export async function limitInsert(bench: Bench): Promise<Measured> {
  const { profile } = bench;
  const order = newOrder(instrumentFor('limitdb'));
  const task = () => bench.orders.create(order);
  await closedLoop({ concurrency: profile.connections, durationS: profile.warmupS, task });
  const cpu = cpuMeter(bench, {});
  const result = await closedLoop({ concurrency: profile.connections, durationS: profile.durationS, task });
  return { ...result, cpu: cpu() };
}

/** (c) The workflow start alone: the project's PlacementStarter, on a task queue no worker polls. */
export async function limitWorkflowStart(bench: Bench): Promise<Measured> {
  const { profile, config } = bench;
  const starter = createPlacementStarter(bench.temporal, queueFor('unpolled'), config.TEMPORAL_START_CONCURRENCY);
  const base = newOrder(instrumentFor('limitwf'));
  const task = () => {
    const ticket: OrderTicket = { ...base, id: randomUUID(), createdAt: new Date().toISOString() };
    return starter.start(ticket, Date.now() + config.ORDER_BUDGET_MS);
  };
  await closedLoop({ concurrency: profile.connections, durationS: profile.warmupS, task });
  const cpu = cpuMeter(bench, {});
  const result = await closedLoop({ concurrency: profile.connections, durationS: profile.durationS, task });
  return { ...result, cpu: cpu() };
}

/**
 * (d) What Temporal sustains for the service's starts while a worker places those same orders:
 * the API's own path (submitOrder: insert, workflow start, accepted) in this process, no HTTP,
 * on a queue one worker polls with the exchange at its defaults. POST /orders is held to a
 * share of this, not of (c), whose unpolled queue costs the server no placements.
 */
export async function limitStartWhilePlacing(bench: Bench): Promise<Measured> {
  const { profile, config } = bench;
  const queue = queueFor('limitpl');
  const instrument = instrumentFor('limitpl');
  const worker = await startWorker('worker-limit', serviceEnv(bench, queue));
  try {
    const placement = createPlacementStarter(bench.temporal, queue, config.TEMPORAL_START_CONCURRENCY);
    const order = newOrder(instrument);
    const task = () => submitOrder({ orders: bench.orders, placement, budgetMs: config.ORDER_BUDGET_MS }, order);
    await closedLoop({ concurrency: profile.connections, durationS: profile.warmupS, task });
    const cpu = cpuMeter(bench, { worker: [worker] });
    const result = await closedLoop({ concurrency: profile.connections, durationS: profile.durationS, task });
    return { ...result, cpu: cpu() };
  } finally {
    await waitUntilFinished(bench, [instrument], profile.burstWaitS * 1000);
    await worker.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 1 and 4. POST /orders at fixed concurrency: 1 API, 2 APIs, and with the exchange down

export interface PostResults {
  oneApi: Measured;
  twoApis: Measured;
}

/**
 * The long-lived processes of the POST, steady and exchange-down runs, each group on a task
 * queue of its own. They are all spawned at once (idle processes cost nothing measurable; their
 * start-up does, so it is paid once), and each group is stopped as soon as its run is over.
 */
export interface Fleet {
  post?: { apis: [Service, Service]; worker: Service };
  steady?: { api: Service; worker: Service };
  down?: { api: Service; worker: Service };
}

export async function startFleet(bench: Bench, groups: { post: boolean; steady: boolean; down: boolean }): Promise<Fleet> {
  const postEnv = serviceEnv(bench, queueFor('post'));
  const steadyEnv = serviceEnv(bench, queueFor('steady'));
  const downEnv = serviceEnv(bench, queueFor('down'));
  const [post, steady, down] = await Promise.all([
    groups.post
      ? Promise.all([startApi('api-1', postEnv), startApi('api-2', postEnv), startWorker('worker', postEnv)]).then(
          ([api1, api2, worker]) => ({
            apis: [api1, api2] as [Service, Service],
            worker,
          }),
        )
      : undefined,
    groups.steady
      ? Promise.all([startApi('api', steadyEnv), startWorker('worker', steadyEnv)]).then(([api, worker]) => ({ api, worker }))
      : undefined,
    groups.down
      ? Promise.all([startApi('api', downEnv), startWorker('worker-down', { ...downEnv, EXCHANGE_FAILURE_RATE: '1' })]).then(
          ([api, worker]) => ({ api, worker }),
        )
      : undefined,
  ]);
  return { ...(post ? { post } : {}), ...(steady ? { steady } : {}), ...(down ? { down } : {}) };
}

/** One worker with the exchange at its defaults; POST against one API process, then two. */
export async function postHealthy(bench: Bench, fleet: Fleet['post']): Promise<PostResults> {
  if (!fleet) throw new Error('no processes for the POST runs');
  const { profile } = bench;
  const { apis, worker } = fleet;
  try {
    const body = orderBody(instrumentFor('post'));
    const groups = { api: apis, worker: [worker] };
    bench.log(
      `POST /orders, 1 API, exchange healthy: ${profile.connections} connections, ${profile.warmupS} s warm-up + ${profile.durationS} s`,
    );
    await httpLoad({ urls: [apis[0].url], connections: profile.connections, durationS: profile.warmupS, body });
    let cpu = cpuMeter(bench, groups);
    let errorsBefore = apis.map((api) => api.errorCounts());
    const one = await httpLoad({ urls: [apis[0].url], connections: profile.connections, durationS: profile.durationS, body });
    const oneApi = { ...one, cpu: cpu(), serverErrors: errorsSince(apis, errorsBefore) };

    bench.log('POST /orders, 2 API processes (same worker, same queue)');
    const urls = apis.map((api) => api.url);
    await httpLoad({ urls, connections: profile.connections, durationS: profile.warmupS, body });
    cpu = cpuMeter(bench, groups);
    errorsBefore = apis.map((api) => api.errorCounts());
    const two = await httpLoad({ urls, connections: profile.connections, durationS: profile.durationS, body });
    return { oneApi, twoApis: { ...two, cpu: cpu(), serverErrors: errorsSince(apis, errorsBefore) } };
  } finally {
    await Promise.all([...apis.map((api) => api.stop()), worker.stop()]);
  }
}

/** POST with the exchange down: the worker's every exchange call fails (EXCHANGE_FAILURE_RATE=1). */
export async function postExchangeDown(bench: Bench, fleet: Fleet['down']): Promise<Measured> {
  if (!fleet) throw new Error('no processes for the exchange-down run');
  const { profile } = bench;
  const { api, worker } = fleet;
  try {
    const load = { urls: [api.url], connections: profile.connections, body: orderBody(instrumentFor('down')) };
    await httpLoad({ ...load, durationS: profile.warmupS });
    const cpu = cpuMeter(bench, { api: [api], worker: [worker] });
    const errorsBefore = [api.errorCounts()];
    const result = await httpLoad({ ...load, durationS: profile.durationS });
    return { ...result, cpu: cpu(), serverErrors: errorsSince([api], errorsBefore) };
  } finally {
    await Promise.all([api.stop(), worker.stop()]);
  }
}

// ---------------------------------------------------------------------------------------------
// Spike: many POST /orders at one moment, answered within the documented bound (issue 10, §5)

/**
 * The most one POST /orders may take with this configuration (docs/api.md, "Bounded time"): its
 * budget for the insert and the workflow start together (its wait for a turn included), then one
 * more database call on the database's own bound (the compensation of a start that failed, or
 * the acceptance after one that succeeded). The insert itself is bounded by the database's
 * bound, not by the budget: with DB_CONNECT_TIMEOUT_MS + DB_QUERY_TIMEOUT_MS above
 * ORDER_BUDGET_MS (not so by default) it can outlast the budget, and the bound grows with it.
 */
export function postAnswerBound(config: Config): { ms: number; parts: string } {
  const databaseMs = config.DB_CONNECT_TIMEOUT_MS + config.DB_QUERY_TIMEOUT_MS;
  const database = `DB_CONNECT_TIMEOUT_MS ${config.DB_CONNECT_TIMEOUT_MS} + DB_QUERY_TIMEOUT_MS ${config.DB_QUERY_TIMEOUT_MS}`;
  return databaseMs <= config.ORDER_BUDGET_MS
    ? { ms: config.ORDER_BUDGET_MS + databaseMs, parts: `ORDER_BUDGET_MS ${config.ORDER_BUDGET_MS} + ${database}` }
    : { ms: 2 * databaseMs, parts: `2 × (${database}), the insert outlasting ORDER_BUDGET_MS ${config.ORDER_BUDGET_MS}` };
}

export interface SpikeResult {
  apis: number;
  requests: number;
  /** Every answer by status, latencies (from the moment all requests were written), requests without an answer. */
  load: BurstLoadResult;
  /** The same requests as the API timed them (its request log's durationMs: from its headers to its answer). */
  server: LatencySummary;
  /** Connections dropped by a full accept queue on the machine during the burst (any listener); null: unknown. */
  listenOverflows: number | null;
  created: number;
  serverError: number;
  /** Answers other than 201 and 500, plus requests that got no answer (connection errors, 30 s timeouts). */
  other: number;
  bound: { ms: number; parts: string };
  /** The API's settings that shape a burst, as the API processes read them. */
  settings: { startConcurrency: number; poolSize: number };
  serverErrors: Record<string, number>;
  cpu: CpuUse;
  /** The burst's orders once none was on its way any more (or when the wait was given up). */
  after: { placed: number; rejected: number; open: number; waitedS: number; complete: boolean };
  /**
   * Orders placed (or placing) whose request was not answered 201: must be none (issue 10: a 500
   * means never placed). For each, the messages its API logged about it.
   */
  placedWithout201: { id: string; status: string; log: string[] }[];
}

/** GET /health/ready until 200 (the API has warmed its connections), as a balancer would wait. */
async function waitReady(api: Service, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${api.url}/health/ready`)).status === 200) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`${api.name} not ready within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/**
 * `spikeRequests` POST /orders at one moment (as many connections, all open before the first
 * request is written, then one request each), against one API process, then (full mode) split
 * evenly over two; one worker polls the queue and places the orders meanwhile. Between the two,
 * the first burst's orders are placed, so both start from an idle worker.
 */
export async function spike(bench: Bench): Promise<SpikeResult[]> {
  // Its own processes, started when the POST runs' are stopped: on a busy machine, starting them
  // with the others took one of them past its 90 s start limit.
  const env = serviceEnv(bench, queueFor('spike'));
  bench.log('starting the API and worker processes of the spike');
  const [apis, worker] = await Promise.all([
    Promise.all(Array.from({ length: Math.max(...bench.profile.spikeApis) }, (_, i) => startApi(`api-${i + 1}`, env))),
    startWorker('worker', env),
  ]);
  // What the API processes read: their environment is this process's plus env.
  const fleet = { apis, worker, config: loadConfig({ ...process.env, ...env }) };
  try {
    await Promise.all(apis.map((api) => waitReady(api)));
    // A few orders through each API first, so that the burst meets warm code paths, as it would
    // meet an API that has been serving for a while.
    const warmUp = instrumentFor('spikewarm');
    await httpLoad({ urls: apis.map((api) => api.url), connections: 4, amount: 20, body: orderBody(warmUp) });
    await waitUntilPlaced(bench, warmUp, 0, bench.profile.spikeDrainS * 1000);
    const results: SpikeResult[] = [];
    for (const count of bench.profile.spikeApis) results.push(await spikeOnce(bench, fleet, apis.slice(0, count), `spike${count}`));
    return results;
  } finally {
    const instruments = [instrumentFor('spikewarm'), ...bench.profile.spikeApis.map((count) => instrumentFor(`spike${count}`))];
    await waitUntilFinished(bench, instruments, bench.profile.spikeDrainS * 1000);
    await Promise.all([...apis.map((api) => api.stop()), worker.stop()]);
  }
}

interface SpikeFleet {
  apis: Service[];
  worker: Service;
  config: Config;
}

async function spikeOnce(bench: Bench, fleet: SpikeFleet, apis: Service[], code: string): Promise<SpikeResult> {
  const { profile } = bench;
  const n = profile.spikeRequests;
  const instrument = instrumentFor(code);
  bench.log(`spike: ${n} POST /orders at one moment, ${n} connections, ${apis.length} API process(es), 1 worker placing`);
  const cpu = cpuMeter(bench, { api: apis, worker: [fleet.worker] });
  const errorsBefore = apis.map((api) => api.errorCounts());
  const logOffsets = apis.map((api) => api.output().length);
  const overflowsBefore = listenOverflows();
  const load = await burstLoad({ urls: apis.map((api) => api.url), count: n, body: orderBody(instrument), timeoutS: 60 });
  const overflowsAfter = listenOverflows();
  const cpuUse = cpu();
  // The APIs write their log asynchronously: wait (a while at most) for a line per answer.
  const serverDurations = () => apis.flatMap((api, i) => postDurationsMs(api.output().slice(logOffsets[i])));
  let serverMs = serverDurations();
  for (const deadline = Date.now() + 15_000; serverMs.length < load.completed && Date.now() < deadline; serverMs = serverDurations())
    await sleep(200);
  const serverErrors = errorsSince(apis, errorsBefore);
  const created = load.statusCodes['201'] ?? 0;
  const serverError = load.statusCodes['500'] ?? 0;
  const waitStart = Date.now();
  const complete = await waitUntilPlaced(bench, instrument, 0, profile.spikeDrainS * 1000);
  const waitedS = (Date.now() - waitStart) / 1000;
  const answered201 = new Set(load.okBodies.map((text) => (JSON.parse(text) as { id: string }).id));
  const { rows: taken } = await bench.pool.query<{ id: string; status: string }>(
    `SELECT id, status FROM orders WHERE instrument = $1 AND status::text = ANY($2::text[])`,
    [instrument, ['placing', ...PLACED_STATUSES]],
  );
  const logs = apis.map((api) => api.output());
  const placedWithout201 = taken.filter((row) => !answered201.has(row.id)).map((row) => ({ ...row, log: logLinesAbout(logs, row.id) }));
  const counts = await bench.pool.query<{ placed: number; rejected: number; open: number }>(
    `SELECT count(*) FILTER (WHERE status::text = ANY($2::text[]))::int AS placed,
            count(*) FILTER (WHERE status = 'rejected')::int AS rejected,
            count(*) FILTER (WHERE status IN ('pending', 'accepted', 'placing'))::int AS open
       FROM orders WHERE instrument = $1`,
    [instrument, PLACED_STATUSES],
  );
  return {
    apis: apis.length,
    requests: n,
    load,
    server: summariseMs(serverMs),
    listenOverflows: overflowsBefore === null || overflowsAfter === null ? null : overflowsAfter - overflowsBefore,
    created,
    serverError,
    other: n - created - serverError,
    bound: postAnswerBound(fleet.config),
    settings: { startConcurrency: fleet.config.TEMPORAL_START_CONCURRENCY, poolSize: fleet.config.DB_POOL_SIZE },
    serverErrors,
    cpu: cpuUse,
    after: { ...counts.rows[0]!, waitedS, complete },
    placedWithout201,
  };
}

/** What the API processes logged about one order: each line's message, its error's, and its status. */
function logLinesAbout(logs: string[], orderId: string): string[] {
  return logs.flatMap((log) =>
    log
      .split('\n')
      .filter((line) => line.includes(orderId))
      .map((line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; status?: number | string; err?: { message?: string } };
          return [entry.msg, entry.status, entry.err?.message].filter((part) => part !== undefined).join(': ');
        } catch {
          return line.slice(0, 200);
        }
      }),
  );
}

/** durationMs of every POST /orders in an API's request log (one JSON line per request). */
function postDurationsMs(log: string): number[] {
  const durations: number[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('"msg":"request"') || !line.includes('"route":"/orders"')) continue;
    try {
      const entry = JSON.parse(line) as { method?: string; durationMs?: number };
      if (entry.method === 'POST' && typeof entry.durationMs === 'number') durations.push(entry.durationMs);
    } catch {
      // a line cut short by the read
    }
  }
  return durations;
}

/** Errors the services logged since `before` (one reading per service), by message. */
export function errorsSince(services: Service[], before: Record<string, number>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  services.forEach((service, i) => {
    for (const [message, count] of Object.entries(service.errorCounts())) {
      const added = count - (before[i]?.[message] ?? 0);
      if (added > 0) counts[message] = (counts[message] ?? 0) + added;
    }
  });
  return counts;
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. Placement: a backlog of accepted orders, released at once to 1 or 2 workers

export interface BurstResult {
  workers: number;
  exchange: 'default' | 'instant';
  orders: number;
  /** Submitting them (store + start + accept, in the benchmark process, no worker polling yet). */
  submit: LoadResult;
  /** Worker start (spawn to polling), seconds; with 2 workers, until both poll. */
  workerStartS: number;
  placed: number;
  /** From the moment all workers poll to the last placed_at. */
  drainS: number;
  /** Orders placed while the first worker polled and the second was still starting. */
  placedBeforeAllReady: number;
  /** Placements per second while the bulk of the backlog drained (10% → 90% of orders placed). */
  bulkPerSecond: number;
  /** placed / drainS: includes the tail of orders whose exchange call failed and waits its retry. */
  overallPerSecond: number;
  /** placed_at − moment of release (all workers polling): how long the backlog made orders wait. */
  wait: LatencySummary;
  /** False when the wait was given up (profile.burstWaitS): the figures then cover the placed orders only. */
  complete: boolean;
  cpu: CpuUse;
  /** The Temporal server's cost of these orders (null with a server started by hand, whose process is not known). */
  temporal: TemporalCost | null;
}

export interface TemporalCost {
  /** Server CPU from the first start to the last placement, per placed order (their starts included). */
  cpuMsPerPlacement: number;
  /** Server CPU from the first start until every workflow ended (its terminal event taken), per order. */
  cpuMsPerOrder: number | null;
  /** What the histories of a sample of the orders hold, healthy ones and those whose first exchange attempt failed. */
  histories: Awaited<ReturnType<typeof summariseHistories>>;
}

/** Up to `limit` of a scenario's orders (not rejected ones), at random, with their created_at. */
export async function sampleOrders(bench: Bench, instrument: string, limit: number): Promise<{ id: string; createdMs: number }[]> {
  const { rows } = await bench.pool.query<{ id: string; created: number }>(
    `SELECT id, (extract(epoch FROM created_at) * 1000)::float8 AS created FROM orders
      WHERE instrument = $1 AND status <> 'rejected' ORDER BY random() LIMIT $2`,
    [instrument, limit],
  );
  return rows.map((row) => ({ id: row.id, createdMs: row.created }));
}

/** How many orders' histories the burst reads back (all of them are alike but for the exchange's failures). */
const HISTORY_SAMPLE = 300;

export async function burst(bench: Bench, options: { workers: number; exchange: 'default' | 'instant' }): Promise<BurstResult> {
  const { profile, config } = bench;
  const code = `burst${options.workers}${options.exchange === 'instant' ? 'i' : 'd'}`;
  const queue = queueFor(code);
  const instrument = instrumentFor(code);
  const n = profile.burstOrders;
  bench.log(`placement: ${n} orders accepted at once, ${options.workers} worker(s), exchange ${options.exchange}`);

  const temporalCpuS = () => (bench.infra.temporalPid === null ? null : treeCpuSeconds(bench.infra.temporalPid));
  const temporalBefore = temporalCpuS();
  // The API's own path (submitOrder) in this process, on a queue no worker polls yet.
  const placement = createPlacementStarter(bench.temporal, queue, config.TEMPORAL_START_CONCURRENCY);
  const order = newOrder(instrument);
  const submit = await closedLoop({
    concurrency: profile.connections,
    amount: n,
    task: () => submitOrder({ orders: bench.orders, placement, budgetMs: config.ORDER_BUDGET_MS }, order),
  });
  const accepted = await countOrders(bench, instrument);
  if (submit.errors > 0) bench.log(`  ${submit.errors} submissions failed (${submit.firstError})`);

  const exchangeEnv: Record<string, string> =
    options.exchange === 'instant' ? { EXCHANGE_LATENCY_MS: '0', EXCHANGE_FAILURE_RATE: '0' } : {};
  const env = serviceEnv(bench, queue, exchangeEnv);
  const spawnedAt = Date.now();
  const workers = await Promise.all(Array.from({ length: options.workers }, (_, i) => startWorker(`worker-${i + 1}`, env)));
  let complete = false;
  try {
    const cpu = cpuMeter(bench, { worker: workers });
    const releasedAt = Math.max(...workers.map((worker) => worker.readyAt));
    complete = await waitUntilPlaced(bench, instrument, accepted.total, profile.burstWaitS * 1000);
    const cpuUse = cpu();
    const temporalAtPlaced = temporalCpuS();
    const times = await placementTimes(bench, instrument);
    const placedAt = times.flatMap((time) => (time.placedMs === null ? [] : [time.placedMs])).sort((a, b) => a - b);
    const last = placedAt.at(-1) ?? releasedAt;
    const drainS = (last - releasedAt) / 1000;
    const placedAfter = placedAt.filter((time) => time >= releasedAt).length;
    let temporal: TemporalCost | null = null;
    if (temporalBefore !== null && temporalAtPlaced !== null) {
      const ended = complete && (await waitUntilFinished(bench, [instrument], profile.burstWaitS * 1000));
      const temporalAtEnd = temporalCpuS();
      const orders = await sampleOrders(bench, instrument, HISTORY_SAMPLE);
      temporal = {
        cpuMsPerPlacement: (1000 * (temporalAtPlaced - temporalBefore)) / Math.max(1, placedAt.length),
        cpuMsPerOrder: ended && temporalAtEnd !== null ? (1000 * (temporalAtEnd - temporalBefore)) / Math.max(1, accepted.total) : null,
        histories: await summariseHistories(bench.temporal, orders),
      };
    }
    return {
      workers: options.workers,
      exchange: options.exchange,
      orders: accepted.total,
      submit,
      workerStartS: (releasedAt - spawnedAt) / 1000,
      placed: placedAt.length,
      drainS,
      placedBeforeAllReady: placedAt.length - placedAfter,
      bulkPerSecond: bulkRate(placedAt, releasedAt),
      overallPerSecond: placedAfter / drainS,
      wait: summariseMs(placedAt.map((time) => Math.max(0, time - releasedAt))),
      complete,
      cpu: cpuUse,
      temporal,
    };
  } finally {
    // A backlog the wait gave up on cannot finish now: no more waiting for it.
    if (complete) await waitUntilFinished(bench, [instrument], profile.burstWaitS * 1000);
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

/** Placements per second between the 10th and the 90th percentile of placed_at (not before release). */
function bulkRate(sortedPlacedAt: number[], releasedAt: number): number {
  const n = sortedPlacedAt.length;
  if (n < 10) return NaN;
  const from = Math.max(sortedPlacedAt[Math.floor(n * 0.1)]!, releasedAt);
  const to = sortedPlacedAt[Math.floor(n * 0.9)]!;
  const count = sortedPlacedAt.filter((time) => time >= from && time <= to).length;
  return to > from ? count / ((to - from) / 1000) : NaN;
}

export async function countOrders(bench: Bench, instrument: string): Promise<{ total: number; placed: number; open: number }> {
  const { rows } = await bench.pool.query<{ total: number; placed: number; open: number }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE status::text = ANY($2::text[]))::int AS placed,
            count(*) FILTER (WHERE status IN ('pending', 'accepted', 'placing'))::int AS open
       FROM orders WHERE instrument = $1`,
    [instrument, PLACED_STATUSES],
  );
  return rows[0]!;
}

/** Waits until no order of the scenario is still on its way; false if that took longer than timeoutMs. */
export async function waitUntilPlaced(bench: Bench, instrument: string, expected: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  for (;;) {
    const counts = await countOrders(bench, instrument);
    if (counts.open === 0 && counts.total >= expected) return true;
    if (Date.now() > deadline) {
      bench.log(`  gave up waiting: ${counts.placed} of ${counts.total} placed after ${timeoutMs / 1000} s`);
      return false;
    }
    if (Date.now() - lastReport > 10_000) {
      bench.log(`  ${counts.placed} of ${counts.total} placed`);
      lastReport = Date.now();
    }
    await sleep(200);
  }
}

/**
 * Waits (at most timeoutMs, not measured) until no order of the instruments is being placed or
 * still working at the venue and every terminal event of theirs reached its workflow, so that
 * the workers are stopped with their workflows ended: a terminal event for a workflow whose
 * queue nobody polls any more would wait in the ingestion's relay for the rest of the run.
 */
export async function waitUntilFinished(bench: Bench, instruments: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await bench.pool.query<{ unfinished: number }>(
      `SELECT (SELECT count(*) FROM orders WHERE instrument = ANY($1) AND status IN ('placing', 'placed', 'partially_filled'))::int
            + (SELECT count(*) FROM order_terminal_outbox t JOIN orders o ON o.id = t.order_id
                WHERE o.instrument = ANY($1) AND t.relayed_at IS NULL)::int AS unfinished`,
      [instruments],
    );
    const unfinished = rows[0]?.unfinished ?? 0;
    if (unfinished === 0) return true;
    if (Date.now() > deadline) {
      bench.log(`  stopping the workers with ${unfinished} orders not finished (being placed, working, or their end not relayed)`);
      return false;
    }
    await sleep(200);
  }
}

/** created_at and placed_at (null while not placed) of a scenario's orders, except rejected ones. */
export async function placementTimes(bench: Bench, instrument: string): Promise<{ createdMs: number; placedMs: number | null }[]> {
  const { rows } = await bench.pool.query<{ created: number; placed: number | null }>(
    `SELECT (extract(epoch FROM created_at) * 1000)::float8 AS created, (extract(epoch FROM placed_at) * 1000)::float8 AS placed
       FROM orders WHERE instrument = $1 AND status <> 'rejected'`,
    [instrument],
  );
  return rows.map((row) => ({ createdMs: row.created, placedMs: row.placed }));
}

// ---------------------------------------------------------------------------------------------
// 3 and 5. Steady arrivals through the API: lag, and the processes' memory over the run

export interface RssSummary {
  /** Medians of the first and the last windowS seconds of samples (after rssSettleS). */
  startMiB: number;
  endMiB: number;
  minMiB: number;
  maxMiB: number;
  changePct: number;
  samples: number;
  windowS: number;
  /** Every sample (MiB), for the JSON output. */
  series: number[];
}

export interface SteadyResult {
  rate: number;
  runS: number;
  post: LoadResult;
  serverErrors: Record<string, number>;
  /**
   * created_at → placed_at of the orders created in the first lagWindowS seconds. An order not
   * placed when the benchmark stopped waiting counts with its wait so far (a lower bound).
   */
  lagWindowS: number;
  lagWindow: LatencySummary;
  unplacedInWindow: number;
  /** The same over the whole run. */
  lagAll: LatencySummary;
  orders: number;
  placed: number;
  allPlaced: boolean;
  rss: { api: RssSummary; worker: RssSummary };
  cpu: CpuUse;
  /** Per second and per order, for the charts (bench/charts/). */
  timeline: Timeline;
}

/** How many of the steady run's orders (spread over it) the timeline follows through their histories. */
const STEADY_TIMES_SAMPLE = 200;

export async function steady(bench: Bench, fleet: Fleet['steady']): Promise<SteadyResult> {
  if (!fleet) throw new Error('no processes for the steady run');
  const { profile } = bench;
  const instrument = instrumentFor('steady');
  const { api, worker } = fleet;
  let allPlaced = false;
  try {
    bench.log(
      `steady arrivals: ${profile.steadyRate} orders/s for ${profile.steadyRunS} s through the API, ${profile.steadyConnections} connections`,
    );
    const samples: { atS: number; api: number; worker: number }[] = [];
    const t0 = performance.now();
    const sample = () => {
      const apiRss = rssBytes(api.pid);
      const workerRss = rssBytes(worker.pid);
      if (apiRss !== null && workerRss !== null) samples.push({ atS: (performance.now() - t0) / 1000, api: apiRss, worker: workerRss });
    };
    sample();
    const sampler = setInterval(sample, profile.rssSampleS * 1000);
    const progress = setInterval(() => bench.log(`  ${Math.round((performance.now() - t0) / 1000)} s of ${profile.steadyRunS} s`), 60_000);
    const cpu = cpuMeter(bench, { api: [api], worker: [worker] });
    const errorsBefore = [api.errorCounts()];
    const bySecond = new LatencyBySecond(Date.now());
    let post: LoadResult;
    try {
      post = await httpLoad({
        urls: [api.url],
        connections: profile.steadyConnections,
        durationS: profile.steadyRunS,
        overallRate: profile.steadyRate,
        body: orderBody(instrument),
        bySecond,
      });
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
    }
    sample();
    const cpuUse = cpu();
    const serverErrors = errorsSince([api], errorsBefore);
    const accepted = await countOrders(bench, instrument);
    allPlaced = await waitUntilPlaced(bench, instrument, accepted.total, profile.steadyDrainS * 1000);
    const times = await placementTimes(bench, instrument);
    const stoppedWaitingAt = Date.now();
    const firstCreated = Math.min(...times.map((time) => time.createdMs));
    const lag = (time: { createdMs: number; placedMs: number | null }) => (time.placedMs ?? stoppedWaitingAt) - time.createdMs;
    const inWindow = times.filter((time) => time.createdMs < firstCreated + profile.lagWindowS * 1000);
    const followed = await readHistories(bench.temporal, await spreadSample(bench, instrument, STEADY_TIMES_SAMPLE));
    const charted = await orderTimes(bench, followed, bySecond.startMs);
    return {
      rate: profile.steadyRate,
      runS: profile.steadyRunS,
      post,
      serverErrors,
      lagWindowS: profile.lagWindowS,
      lagWindow: summariseMs(inWindow.map(lag)),
      unplacedInWindow: inWindow.filter((time) => time.placedMs === null).length,
      lagAll: summariseMs(times.map(lag)),
      orders: times.length,
      placed: times.filter((time) => time.placedMs !== null).length,
      allPlaced,
      rss: { api: rssSummary(samples, 'api', profile), worker: rssSummary(samples, 'worker', profile) },
      cpu: cpuUse,
      timeline: buildTimeline({
        startedAtMs: bySecond.startMs,
        rate: profile.steadyRate,
        times,
        post: bySecond.summaries(),
        orders: charted.orders,
        ordersLeftOut: charted.leftOut,
      }),
    };
  } finally {
    if (allPlaced) await waitUntilFinished(bench, [instrument], profile.steadyDrainS * 1000);
    await Promise.all([api.stop(), worker.stop()]);
  }
}

function rssSummary(samples: { atS: number; api: number; worker: number }[], which: 'api' | 'worker', profile: Profile): RssSummary {
  // Once the process has warmed up under the load; start and end are medians over a window, so
  // that one garbage collection (tens of MiB either way) does not pass for growth or shrinkage.
  const settled = samples.filter((sample) => sample.atS >= profile.rssSettleS);
  const series = (settled.length > 1 ? settled : samples).map((sample) => sample[which] / 2 ** 20);
  const window = Math.max(1, Math.min(Math.round(profile.rssWindowS / profile.rssSampleS), Math.floor(series.length / 3)));
  const start = median(series.slice(0, window));
  const end = median(series.slice(-window));
  return {
    startMiB: start,
    endMiB: end,
    minMiB: Math.min(...series),
    maxMiB: Math.max(...series),
    changePct: (100 * (end - start)) / start,
    samples: series.length,
    windowS: window * profile.rssSampleS,
    series: series.map((mib) => Math.round(mib)),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
