import getPort from 'get-port';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_ERROR_BODY } from '../../api/errors.js';
import { createApiMetrics } from '../../api/metrics.js';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { testConfig } from '../support/config.js';
import { FakeOrders, startAppWithFakes } from '../support/fakes.js';
import { metricValue, parseMetrics, type Sample, scrape } from '../support/metrics.js';
import { REACHED_EXCHANGE_SQL } from '../support/orders.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

// The Prometheus series of the API (in-process) and of a real worker process, and how they move
// while orders flow: 40 orders through an exchange that fails 20% of the calls.
const ORDERS = 40;
const INSTRUMENT = 'METRICSTEST1';
const config = testConfig({ EXCHANGE_LATENCY_MS: '20' });

let api: ApiServer;
let worker: ServiceProcess;
let workerMetricsUrl: string;
let sdkMetricsUrl: string;
let db: pg.Client;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const [metricsPort, sdkPort] = [await getPort(), await getPort()];
  workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  sdkMetricsUrl = `http://127.0.0.1:${sdkPort}/metrics`;
  worker = await startService('worker', {
    DATABASE_URL: config.DATABASE_URL,
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
    EXCHANGE_LATENCY_MS: '20',
    EXCHANGE_FAILURE_RATE: '0.2',
    WORKER_METRICS_PORT: String(metricsPort),
    TEMPORAL_METRICS_BIND_ADDRESS: `127.0.0.1:${sdkPort}`,
  });
  cleanups.push(() => worker.kill('SIGTERM'));
  api = await startApiServer(config, createLogger('api', 'silent'));
  cleanups.push(() => api.close());
  db = new pg.Client({ connectionString: config.DATABASE_URL });
  await db.connect();
  cleanups.push(() => db.end());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${api.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

const order = (quantity: number) => ({ type: 'market', side: 'buy', instrument: INSTRUMENT, quantity });

describe('GET /metrics of the API', () => {
  it('counts requests by route template and status, orders created and their latency', { timeout: 240_000 }, async () => {
    const before = await scrape(`${api.managementUrl}/metrics`);
    expect(metricValue(before, 'orders_created_total')).toBe(0);
    for (const cause of ['database', 'temporal', 'unexpected'])
      expect(before.some((s) => s.name === 'http_internal_errors_total' && s.labels.cause === cause)).toBe(true);
    expect(before.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(before.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);

    const ids: string[] = [];
    for (let i = 1; i <= ORDERS; i += 1) {
      const response = await post(order(i));
      expect(response.status).toBe(201);
      ids.push(((await response.json()) as { id: string }).id);
    }
    // A replayed Idempotency-Key creates nothing, so it is not counted as an order created.
    const key = `metrics-${Date.now()}`;
    expect((await post(order(1), { 'Idempotency-Key': key })).status).toBe(201);
    const replay = await post(order(1), { 'Idempotency-Key': key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await fetch(`${api.url}/orders/${ids[0]}`)).status).toBe(200);
    expect((await fetch(`${api.url}/orders/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await fetch(`${api.url}/no/such/path/${ids[1]}`)).status).toBe(404);

    const after = await scrape(`${api.managementUrl}/metrics`);
    expect(metricValue(after, 'orders_created_total')).toBe(ORDERS + 1);
    expect(metricValue(after, 'http_requests_total', { method: 'POST', route: '/orders', status: '201' })).toBe(ORDERS + 2);
    expect(metricValue(after, 'http_requests_total', { method: 'GET', route: '/orders/:id', status: '200' })).toBe(1);
    expect(metricValue(after, 'http_requests_total', { method: 'GET', route: '/orders/:id', status: '404' })).toBe(1);
    expect(metricValue(after, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(metricValue(after, 'http_request_duration_seconds_count', { method: 'POST', route: '/orders', status: '201' })).toBe(ORDERS + 2);
    expect(metricValue(after, 'http_request_duration_seconds_sum', { method: 'POST', route: '/orders', status: '201' })).toBeGreaterThan(0);
    expect(
      metricValue(after, 'http_request_duration_seconds_bucket', { method: 'POST', route: '/orders', status: '201', le: '+Inf' }),
    ).toBe(ORDERS + 2);
    // Labels are templates, never raw URLs: no order id appears in any series.
    expect(after.some((sample) => Object.values(sample.labels).some((value) => ids.some((id) => value.includes(id))))).toBe(false);
    expect(metricValue(after, 'http_internal_errors_total')).toBe(0);

    // The worker process: placements, exchange calls and their failures, and the placement lag.
    const placed = async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM orders WHERE instrument = $1 AND status IN ${REACHED_EXCHANGE_SQL}`, [
        INSTRUMENT,
      ]);
      return rows[0].n as number;
    };
    // Retries back off 1 s, 2 s, 4 s, …: an order unlucky five times in a row takes a minute.
    await waitFor(async () => ((await placed()) === ORDERS + 1 ? true : undefined), 180_000, 'every order placed').catch(
      async (error: unknown) => {
        const { rows } = await db.query('SELECT status, count(*)::int AS n FROM orders WHERE instrument = $1 GROUP BY status', [
          INSTRUMENT,
        ]);
        const samples = await scrape(workerMetricsUrl).catch(() => []);
        throw new Error(
          `${(error as Error).message}; orders by status: ${JSON.stringify(rows)}; exchange attempts ${metricValue(samples, 'exchange_attempts_total')}, ` +
            `failures ${metricValue(samples, 'exchange_failures_total')}; worker output tail: ${worker.output().slice(-2000)}`,
        );
      },
    );
    const workerSamples: Sample[] = await waitFor(
      async () => {
        const samples = await scrape(workerMetricsUrl);
        return metricValue(samples, 'order_placement_lag_seconds_count') === ORDERS + 1 ? samples : undefined;
      },
      // The ingestion process may record the venue's acceptance before the worker's own step
      // completes (and observes the lag): on a busy machine that can take a while.
      120_000,
      'every placement lag observed',
    );
    expect(metricValue(workerSamples, 'order_placements_total')).toBe(ORDERS + 1);
    const failures = metricValue(workerSamples, 'exchange_failures_total');
    // 41 orders at a 20% failure rate: no failure at all has a chance of 0.8^41 (0.01%).
    expect(metricValue(workerSamples, 'exchange_failures_total', { reason: 'OrderPlacementError' })).toBeGreaterThan(0);
    // Every attempt either failed or placed its order once (nothing crashed, nothing was cancelled).
    expect(metricValue(workerSamples, 'exchange_attempts_total')).toBe(ORDERS + 1 + failures);
    expect(metricValue(workerSamples, 'order_placement_lag_seconds_sum')).toBeGreaterThan(0);
    expect(metricValue(workerSamples, 'order_placement_lag_seconds_bucket', { le: '+Inf' })).toBe(ORDERS + 1);
    expect(workerSamples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);

    // The Temporal SDK's own series, from its Prometheus exporter, in Prometheus conventions:
    // counters end in _total, durations are in seconds and say so.
    // A workflow completes in the workflow task after its last step: wait for every completion.
    const sdk = await waitFor(
      async () => {
        const samples = await scrape(sdkMetricsUrl);
        return metricValue(samples, 'temporal_workflow_completed_total', { workflow_type: 'placeOrderWorkflow' }) === ORDERS + 1
          ? samples
          : undefined;
      },
      // The suite's one ingestion process relays the venue's terminal events of every test file:
      // on a busy machine the relay may be behind.
      120_000,
      'every workflow completed in the SDK series',
    );
    // An order's first exchange attempt is a step of its one local activity claimPlaceAndRecord,
    // which reports a failed call in its result (no failure for the SDK); its retries are the
    // scheduled placeAtExchange: every failed attempt is followed by exactly one scheduled one.
    const local = (name: string) => metricValue(sdk, `temporal_local_${name}`, { activity_type: 'claimPlaceAndRecord' });
    const scheduled = (name: string) => metricValue(sdk, `temporal_${name}`, { activity_type: 'placeAtExchange' });
    expect(local('activity_execution_latency_seconds_count')).toBe(ORDERS + 1);
    expect(local('activity_execution_failed_total')).toBe(0);
    expect(scheduled('activity_execution_failed_total')).toBeLessThan(failures);
    expect(sdk.some((s) => s.name.endsWith('_milliseconds_bucket') || s.name.endsWith('_milliseconds_sum'))).toBe(false);
    const latencyCount = scheduled('activity_execution_latency_seconds_count');
    const latencySum = scheduled('activity_execution_latency_seconds_sum');
    expect(latencyCount).toBe(failures);
    // Each call takes EXCHANGE_LATENCY_MS (20 ms): in seconds, the mean is well below one; in ms it would be above 20.
    expect(latencySum / latencyCount).toBeGreaterThan(0.01);
    expect(latencySum / latencyCount).toBeLessThan(5);
  });
});

describe('500s by cause', () => {
  it('counts a database failure as database and a Temporal failure as temporal', { timeout: 60_000 }, async () => {
    const closedPort = await getPort();
    const noDatabase = await startApiServer(
      testConfig({ DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${closedPort}/orders` }),
      createLogger('api', 'silent'),
    );
    cleanups.push(() => noDatabase.close());
    const noTemporal = await startApiServer(
      testConfig({ TEMPORAL_ADDRESS: `127.0.0.1:${await getPort()}` }),
      createLogger('api', 'silent'),
    );
    cleanups.push(() => noTemporal.close());

    for (const [server, cause] of [
      [noDatabase, 'database'],
      [noTemporal, 'temporal'],
    ] as const) {
      const response = await fetch(`${server.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(order(1)),
      });
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual(INTERNAL_ERROR_BODY);
      const samples = await scrape(`${server.managementUrl}/metrics`);
      expect(metricValue(samples, 'http_internal_errors_total', { cause })).toBe(1);
      expect(metricValue(samples, 'http_internal_errors_total')).toBe(1);
      expect(metricValue(samples, 'http_requests_total', { method: 'POST', route: '/orders', status: '500' })).toBe(1);
    }
  });

  it('counts anything else as unexpected', async () => {
    const metrics = createApiMetrics();
    const orders = new FakeOrders();
    orders.stubs.create = () => Promise.reject(new TypeError('a bug'));
    const app = await startAppWithFakes({ orders, metrics });
    cleanups.push(() => app.close());
    const url = app.url;
    const response = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order(1)),
    });
    expect(response.status).toBe(500);
    // An app built with fakes has no management port: its series, as that port serves them.
    const samples = parseMetrics(await metrics.registry.metrics());
    expect(metricValue(samples, 'http_internal_errors_total', { cause: 'unexpected' })).toBe(1);
    expect(metricValue(samples, 'http_internal_errors_total')).toBe(1);
  });
});

describe('the worker process', () => {
  it('writes one JSON object a line, the Temporal SDK lines included', () => {
    const lines = worker
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '');
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
    expect(parsed.some((line) => line.msg === 'worker started')).toBe(true);
    // A line of the SDK itself (it names its component), through the same logger.
    expect(parsed.some((line) => typeof line.sdkComponent === 'string' && line.name === 'worker')).toBe(true);
  });
});
