import getPort from 'get-port';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_INTERNAL_ERROR_BODY } from '../../api/errors.js';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { readLedger } from '../../exchange/exchange-ledger.js';
import { createOrderWorker } from '../../worker/worker.js';
import { testConfig } from '../support/config.js';
import { postJson, request } from '../support/http.js';
import { waitFor } from '../support/wait.js';

// DELETE /orders/:id when the decision cannot be had in time: no worker runs the order's
// workflow, or Temporal is unreachable. The answer comes within its bound either way: 202 once
// the cancel is recorded (the decision follows), a 500 about cancelling when it is not.
const CANCEL_BUDGET_MS = 1500;
// The budget, the order's reads before and after it, and a busy machine.
const CANCEL_BOUND_MS = CANCEL_BUDGET_MS + 4000;

let db: pg.Client;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  db = new pg.Client({ connectionString: testConfig().DATABASE_URL });
  await db.connect();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(() => db?.end());

async function timedDelete(url: string) {
  const started = performance.now();
  const response = await request(url, { method: 'DELETE' });
  return { ...response, elapsedMs: performance.now() - started };
}

describe('DELETE /orders/:id under faults', () => {
  it('answers 202 within its budget when no worker runs the workflow, and the cancel is decided once one does', {
    timeout: 180_000,
  }, async () => {
    const config = testConfig({ CANCEL_BUDGET_MS: String(CANCEL_BUDGET_MS), EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0' });
    const api: ApiServer = await startApiServer(config, createLogger('api', 'silent'));
    cleanups.push(() => api.close());
    const created = await postJson(`${api.url}/orders`, { type: 'market', side: 'buy', instrument: 'CANCELNOWKR1', quantity: 4 });
    expect(created.status).toBe(201); // the start is acknowledged; nothing polls the task queue yet

    // Many clients cancel at once (as in a cancel race with the worker gone): each gets a 202.
    const cancels = await Promise.all(Array.from({ length: 10 }, () => timedDelete(`${api.url}/orders/${created.body.id}`)));
    for (const cancel of cancels) {
      expect(cancel.status).toBe(202);
      expect(cancel.body).toMatchObject({ id: created.body.id, status: expect.stringMatching(/^(pending|accepted)$/) });
      expect(cancel.elapsedMs).toBeLessThan(CANCEL_BOUND_MS);
    }

    // A worker comes: the recorded cancel wins before any exchange call.
    const worker = await createOrderWorker(config);
    const running = worker.run();
    running.catch(() => {}); // awaited at clean-up, which throws its error; until then a failure must not count as an unhandled rejection
    cleanups.push(async () => {
      worker.shutdown();
      await running;
    });
    const decided = await waitFor(
      async () => {
        const order = await request(`${api.url}/orders/${created.body.id}`);
        return order.body.status === 'cancelled' ? order : undefined;
      },
      60_000,
      'the cancel to be decided',
    );
    expect(decided.body.cancelled_at).not.toBeNull();
    // The exchange knows the id only as cancelled (a later submission of it would be refused).
    const atExchange = (await readLedger(config.DATABASE_URL)).filter((entry) => entry.orderId === created.body.id);
    expect(atExchange.map((entry) => entry.status)).toEqual(['cancelled']);
    const again = await request(`${api.url}/orders/${created.body.id}`, { method: 'DELETE' });
    expect(again.status).toBe(200);
  });

  it('answers a 500 about cancelling, within its bound, when Temporal is unreachable', { timeout: 60_000 }, async () => {
    const config = testConfig({
      CANCEL_BUDGET_MS: String(CANCEL_BUDGET_MS),
      TEMPORAL_ADDRESS: `127.0.0.1:${await getPort()}`,
      TEMPORAL_RPC_TIMEOUT_MS: '1000',
    });
    const api: ApiServer = await startApiServer(config, createLogger('api', 'silent'));
    cleanups.push(() => api.close());
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO orders (type, side, instrument, quantity, status) VALUES ('market', 'buy', 'CANCELNOTMP1', 1, 'accepted') RETURNING id",
    );
    const cancel = await timedDelete(`${api.url}/orders/${rows[0]!.id}`);
    expect(cancel.status).toBe(500);
    expect(cancel.text).toBe(JSON.stringify(CANCEL_INTERNAL_ERROR_BODY));
    expect(cancel.elapsedMs).toBeLessThan(CANCEL_BOUND_MS);
    const { rows: after } = await db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [rows[0]!.id]);
    expect(after[0]!.status).toBe('accepted');
  });
});
