import getPort from 'get-port';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_ERROR_BODY } from '../../api/errors.js';
import { type RunningTemporal, startTemporalDevServer } from '../../scripts/infra/temporal-dev-server.js';
import { PRODUCTION_BOUNDS, postAnswerBoundMs, testConfig } from '../support/config.js';
import { postJson } from '../support/http.js';
import { blackhole } from '../support/network.js';
import { uniqueInstrument } from '../support/orders.js';
import { apiStarter } from '../support/stack.js';

// Failures of the API's dependencies: each must give the exact 500 body, within a bounded
// time, with no internal text, and leave no order that could still be placed.
const ORDER = { type: 'market', side: 'buy', instrument: 'US0378331005', quantity: 5 };
const EXACT_500 = JSON.stringify(INTERNAL_ERROR_BODY);
// The production budget, not the suite's generous one: the bound itself is under test here.
const BOUND_CONFIG = PRODUCTION_BOUNDS;
const BOUND_MS = postAnswerBoundMs(testConfig(BOUND_CONFIG));

const apis: (() => Promise<void>)[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  // The APIs first, then what they were started against.
  for (const close of apis.splice(0)) await close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const startApi = apiStarter((close) => apis.push(close), BOUND_CONFIG);

async function timedPost(url: string, instrument = ORDER.instrument) {
  const started = performance.now();
  const response = await postJson(`${url}/orders`, { ...ORDER, instrument });
  return { ...response, elapsedMs: performance.now() - started };
}

function expectExact500(response: { status: number; text: string; elapsedMs: number }) {
  expect(response.status).toBe(500);
  expect(response.text).toBe(EXACT_500);
  expect(response.elapsedMs).toBeLessThan(BOUND_MS);
}

describe('PostgreSQL unavailable', () => {
  it('answers the exact 500 at once when nothing listens on the database port', async () => {
    const server = await startApi({ DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${await getPort()}/orders` });
    expectExact500(await timedPost(server.url));
  });

  it('answers the exact 500 within the bound when the database hangs', async () => {
    const hung = await blackhole();
    cleanups.push(hung.close);
    const server = await startApi({ DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${hung.port}/orders` });
    const response = await timedPost(server.url);
    expectExact500(response);
    expect(response.elapsedMs).toBeGreaterThanOrEqual(900); // it did wait for the connect timeout
  });
});

describe('Temporal unavailable', () => {
  let db: pg.Client;
  beforeAll(async () => {
    db = new pg.Client({ connectionString: testConfig().DATABASE_URL });
    await db.connect();
  });
  afterAll(() => db.end());

  async function orderOf(instrument: string) {
    const { rows } = await db.query('SELECT id, status, rejected_reason FROM orders WHERE instrument = $1', [instrument]);
    expect(rows).toHaveLength(1);
    return rows[0] as { id: string; status: string; rejected_reason: string | null };
  }

  it('answers the exact 500 and rejects the stored order when nothing listens on the Temporal port', async () => {
    const server = await startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${await getPort()}` });
    const instrument = uniqueInstrument();
    expectExact500(await timedPost(server.url, instrument));
    const order = await orderOf(instrument);
    expect(order.status).toBe('rejected');
    expect(order.rejected_reason).toMatch(/could not be confirmed/);
  });

  it('answers the exact 500 within the bound when Temporal hangs', async () => {
    const hung = await blackhole();
    cleanups.push(hung.close);
    const server = await startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${hung.port}` });
    const instrument = uniqueInstrument();
    const response = await timedPost(server.url, instrument);
    expectExact500(response);
    expect((await orderOf(instrument)).status).toBe('rejected');
  });

  it('recovers by itself when Temporal comes up, with no restart of the API', async () => {
    const port = await getPort();
    const server = await startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expectExact500(await timedPost(server.url));

    const temporal: RunningTemporal = await startTemporalDevServer({ port, uiPort: null, dbFile: null });
    cleanups.push(() => temporal.stop());
    const response = await timedPost(server.url);
    expect(response.status).toBe(201);
    expect(response.body.status).toBe('accepted');
  });
});
