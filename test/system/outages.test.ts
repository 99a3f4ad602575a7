import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import getPort from 'get-port';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_ERROR_BODY } from '../../api/errors.js';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { readLedger } from '../../exchange/exchange-ledger.js';
import { applyMigrations } from '../../prisma/migrate.js';
import { type RunningPostgres, startEmbeddedPostgres } from '../../scripts/infra/embedded-postgres.js';
import { type RunningTemporal, startTemporalDevServer } from '../../scripts/infra/temporal-dev-server.js';
import { PRODUCTION_BOUNDS, postAnswerBoundMs, testConfig } from '../support/config.js';
import { postJson } from '../support/http.js';
import { REACHED_EXCHANGE_SQL, reachedExchange } from '../support/orders.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

// Whole dependencies stopped and started again under a running API and worker. Each test that
// stops a server runs its own, so the rest of the suite keeps the shared ones.
const EXACT_500 = JSON.stringify(INTERNAL_ERROR_BODY);
// The production budget, not the suite's generous one: the bound itself is under test here.
const BOUND_CONFIG = PRODUCTION_BOUNDS;
const BOUND_MS = postAnswerBoundMs(testConfig(BOUND_CONFIG));

let tempDir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'outages-'));
  await chmod(tempDir, 0o755); // PostgreSQL runs as its own user when we are root
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(() => rm(tempDir, { recursive: true, force: true }));

function order(instrument: string, quantity = 1) {
  return { type: 'market', side: 'sell', instrument, quantity };
}

async function timedPost(url: string, body: unknown) {
  const started = performance.now();
  const response = await postJson(`${url}/orders`, body);
  return { ...response, elapsedMs: performance.now() - started };
}

/** Three orders while a dependency is down: each answered with the exact 500, within the bound. */
async function expectExact500sWhileDown(url: string, orderNumber: (i: number) => unknown) {
  for (let i = 0; i < 3; i += 1) {
    const during = await timedPost(url, orderNumber(i));
    expect(during.status).toBe(500);
    expect(during.text).toBe(EXACT_500);
    expect(during.elapsedMs).toBeLessThan(BOUND_MS);
  }
}

/** Posts the order until it is accepted again (the dependency is back); the 201 response. */
function postUntilAccepted(url: string, body: unknown) {
  return waitFor(
    async () => {
      const response = await timedPost(url, body);
      return response.status === 201 ? response : undefined;
    },
    120_000,
    'POST /orders to work again',
  );
}

async function statusOf(databaseUrl: string, id: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT status FROM orders WHERE id = $1', [id]);
    return rows[0]?.status as string;
  } finally {
    await client.end();
  }
}

describe('PostgreSQL stopped and started again', () => {
  it('answers the exact 500 within the bound while it is down, and recovers without a restart', { timeout: 300_000 }, async () => {
    const postgres: RunningPostgres = await startEmbeddedPostgres({ dataDir: path.join(tempDir, 'pg'), port: await getPort() });
    cleanups.push(() => postgres.stop());
    await applyMigrations(postgres.url);
    const config = testConfig({ ...BOUND_CONFIG, DATABASE_URL: postgres.url, EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0' });
    const worker = await startService('worker', {
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      EXCHANGE_LATENCY_MS: '20',
    });
    cleanups.push(() => worker.kill());
    const api: ApiServer = await startApiServer(config, createLogger('api', 'silent'));
    cleanups.push(() => api.close());

    // Working before the outage (on a busy machine a fresh API's first answers may still be 500s).
    const before = await postUntilAccepted(api.url, order('PGDOWNTEST01'));

    await postgres.stop();
    await expectExact500sWhileDown(api.url, () => order('PGDOWNTEST01'));

    await postgres.start();
    const after = await postUntilAccepted(api.url, order('PGDOWNTEST01'));
    for (const id of [before.body.id, after.body.id] as string[]) {
      await waitFor(
        async () => (reachedExchange((await statusOf(postgres.url, id)) ?? '') ? true : undefined),
        60_000,
        `order ${id} placed`,
      );
    }
  });
});

describe('Temporal stopped and started again', () => {
  it('answers the exact 500 while it is down, never places those orders, and recovers without a restart', {
    timeout: 300_000,
  }, async () => {
    const port = await getPort();
    const dbFile = path.join(tempDir, 'temporal.db');
    const temporal: RunningTemporal = await startTemporalDevServer({ port, uiPort: null, dbFile });
    cleanups.push(() => temporal.stop());
    const config = testConfig({ ...BOUND_CONFIG, TEMPORAL_ADDRESS: temporal.address, EXCHANGE_LATENCY_MS: '20' });
    const workerEnv = {
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      EXCHANGE_LATENCY_MS: '20',
    };
    let worker: ServiceProcess = await startService('worker', workerEnv);
    cleanups.push(() => worker.kill());
    const api = await startApiServer(config, createLogger('api', 'silent'));
    cleanups.push(() => api.close());

    await postUntilAccepted(api.url, order('TMPDOWNOK001'));

    await temporal.stop();
    await expectExact500sWhileDown(api.url, (i) => order('TMPDOWNLOST1', i + 1));

    await temporal.start();
    // The worker may or may not survive a stretch without its server; a new one is started if not.
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) worker = await startService('worker', workerEnv);
    const after = await postUntilAccepted(api.url, order('TMPDOWNOK001'));
    await waitFor(
      async () => (reachedExchange((await statusOf(config.DATABASE_URL, after.body.id)) ?? '') ? true : undefined),
      60_000,
      'the new order placed',
    );

    // A sweep runs (as its schedule would), and none of the refused orders reached the exchange.
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    cleanups.push(() => client.connection.close());
    await client.workflow.execute('sweepStaleOrdersWorkflow', {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: `sweep-${Date.now()}`,
      args: [20_000],
    }); // above the suite's request budget: in-flight orders of other tests stay untouched
    const db = new pg.Client({ connectionString: config.DATABASE_URL });
    await db.connect();
    cleanups.push(() => db.end());
    const { rows } = await db.query("SELECT status FROM orders WHERE instrument = 'TMPDOWNLOST1'");
    expect(rows.map((row) => row.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const ledger = await db.query(
      "SELECT count(*)::int AS n FROM exchange_sim.accepted_orders WHERE ticket->>'instrument' = 'TMPDOWNLOST1'",
    );
    expect(ledger.rows[0].n).toBe(0);
  });
});

describe('exchange outage', () => {
  it('keeps answering 201 at the same latency, and places every order once the exchange is back', { timeout: 240_000 }, async () => {
    const config = testConfig({ EXCHANGE_LATENCY_MS: '20' });
    const workerEnv = {
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      EXCHANGE_LATENCY_MS: '20',
    };
    const api = await startApiServer(config, createLogger('api', 'silent'));
    cleanups.push(() => api.close());

    const measure = async (instrument: string, count: number) => {
      const results = [];
      for (let i = 0; i < count; i += 1) results.push(await timedPost(api.url, order(instrument, i + 1)));
      expect(results.every((r) => r.status === 201)).toBe(true);
      const sorted = results.map((r) => r.elapsedMs).sort((a, b) => a - b);
      return { ids: results.map((r) => r.body.id as string), p50: sorted[Math.floor(count / 2)]!, p90: sorted[Math.floor(count * 0.9)]! };
    };

    const healthyWorker = await startService('worker', { ...workerEnv, EXCHANGE_FAILURE_RATE: '0' });
    const healthy = await measure('EXCHANGEOK01', 40);
    await healthyWorker.kill('SIGTERM');

    const outageWorker = await startService('worker', { ...workerEnv, EXCHANGE_FAILURE_RATE: '1' });
    cleanups.push(() => outageWorker.kill());
    const outage = await measure('EXCHANGEDOWN', 40);
    console.log(
      `POST /orders latency, healthy exchange: p50 ${healthy.p50.toFixed(1)} ms, p90 ${healthy.p90.toFixed(1)} ms; exchange down: p50 ${outage.p50.toFixed(1)} ms, p90 ${outage.p90.toFixed(1)} ms`,
    );
    // The API never waits on the exchange: the same order of latency (loose, for a shared 2-core machine).
    expect(outage.p50).toBeLessThan(Math.max(3 * healthy.p50, healthy.p50 + 50));

    // Nothing was placed while the exchange was down, and every order is once it is back.
    const db = new pg.Client({ connectionString: config.DATABASE_URL });
    await db.connect();
    cleanups.push(() => db.end());
    await waitFor(
      async () => {
        const { rows } = await db.query("SELECT count(*)::int AS n FROM orders WHERE instrument = 'EXCHANGEDOWN' AND status = 'placing'");
        return rows[0].n === 40 ? true : undefined;
      },
      60_000,
      'every order of the outage claimed and waiting for the exchange',
    );
    expect((await readLedger(config.DATABASE_URL)).filter((e) => outage.ids.includes(e.orderId))).toEqual([]);
    await outageWorker.kill('SIGTERM');

    const recovered = await startService('worker', { ...workerEnv, EXCHANGE_FAILURE_RATE: '0' });
    cleanups.push(() => recovered.kill());
    await waitFor(
      async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM orders WHERE instrument = 'EXCHANGEDOWN' AND status IN ${REACHED_EXCHANGE_SQL}`,
        );
        return rows[0].n === 40 ? true : undefined;
      },
      150_000,
      'every order of the outage placed',
    );
    const ledger = (await readLedger(config.DATABASE_URL)).filter((e) => outage.ids.includes(e.orderId));
    expect(ledger).toHaveLength(40);
  });
});
