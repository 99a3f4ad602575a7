import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { INTERNAL_ERROR_BODY } from '../../api/errors.js';
import type { FaultInjector, FaultPoint } from '../../api/submit-order.js';
import { readLedger } from '../../exchange/exchange-ledger.js';
import { type JsonResponse, postJson } from '../support/http.js';
import { reachedExchange, uniqueInstrument, workflowPlacedStatus } from '../support/orders.js';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// POST /orders with an Idempotency-Key, through the real API, PostgreSQL, Temporal and a worker
// placing at the simulated exchange (fast and flaky, so retries happen): the same key and order
// give one order, one workflow and one placement, however often and however concurrently sent.
// A generous start timeout: the machine is small and shared, and a slow start is not under test here.
const SLOW = { timeout: 120_000 }; // tests that wait for a placement (up to 60 s) and more
const EXACT_500 = JSON.stringify(INTERNAL_ERROR_BODY);
const DAY_MS = 24 * 3_600_000;

// The fault injector the API runs with; each test that needs one sets it, afterEach clears it.
let faultHook: FaultInjector | undefined;
const faults: FaultInjector = (point) => faultHook?.(point);
const releases: (() => void)[] = [];

const stack = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0.2', ORDER_BUDGET_MS: '15000' }, { api: { faults } });
const { config, waitForPlaced, ledgerOf } = stack;

afterEach(() => {
  faultHook = undefined;
  for (const release of releases.splice(0)) release();
});

// Runs before the stack's own afterAll (hooks after tests run in reverse): held requests go first.
afterAll(() => {
  for (const release of releases.splice(0)) release();
});

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// Every key this file uses starts with its own prefix, so the retention test can check them all.
const KEY_PREFIX = `idem-${randomUUID().slice(0, 8)}-`;
const newKey = () => `${KEY_PREFIX}${randomUUID()}`;

function marketOrder(instrument: string, quantity = 5) {
  return { type: 'market', side: 'buy', instrument, quantity };
}

function post(body: unknown, key?: string): Promise<JsonResponse> {
  return postJson(`${stack.api.url}/orders`, body, key === undefined ? {} : { 'Idempotency-Key': key });
}

interface OrderRow {
  id: string;
  status: string;
  idempotency_key: string | null;
  rejected_reason: string | null;
  rejected_at: Date | null;
}

async function ordersOf(instrument: string): Promise<OrderRow[]> {
  const { rows } = await stack.db.query<OrderRow>(
    'SELECT id, status, idempotency_key, rejected_reason, rejected_at FROM orders WHERE instrument = $1 ORDER BY created_at, id',
    [instrument],
  );
  return rows;
}

async function onlyOrderOf(instrument: string): Promise<OrderRow> {
  const rows = await ordersOf(instrument);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

interface KeyRow {
  key: string;
  request_hash: string;
  order_id: string | null;
  response_status: number | null;
  response_body: string | null;
  created_at: Date;
  expires_at: Date;
  retention_ms: number;
}

async function keyRow(key: string): Promise<KeyRow | undefined> {
  const { rows } = await stack.db.query<KeyRow>(
    `SELECT key, request_hash, order_id, response_status, response_body, created_at, expires_at,
            (EXTRACT(EPOCH FROM (expires_at - created_at)) * 1000)::float8 AS retention_ms
     FROM idempotency_keys WHERE key = $1`,
    [key],
  );
  return rows[0];
}

/** Every order id the exchange accepted for this instrument, whatever its order id. */
async function placementsOf(instrument: string): Promise<string[]> {
  await readLedger(config.DATABASE_URL); // makes sure the ledger's schema exists
  const { rows } = await stack.db.query<{ order_id: string }>(
    "SELECT order_id FROM exchange_sim.accepted_orders WHERE ticket->>'instrument' = $1",
    [instrument],
  );
  return rows.map((row) => row.order_id);
}

/** Runs of workflow id `order-<id>` that Temporal knows of (visibility), once it lists any. */
async function workflowRuns(orderId: string): Promise<string[]> {
  return waitFor(
    async () => {
      const runs: string[] = [];
      for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId = 'order-${orderId}'` })) runs.push(execution.runId);
      return runs.length > 0 ? runs : undefined;
    },
    30_000,
    `workflow order-${orderId} to be listed`,
  );
}

/** Placed exactly once: status placed, one ledger row, one workflow run that ended placed. */
async function expectPlacedOnce(orderId: string, instrument: string): Promise<void> {
  await waitForPlaced(orderId);
  const handle = stack.temporal.workflow.getHandle(`order-${orderId}`);
  expect(reachedExchange(await workflowPlacedStatus(handle))).toBe(true);
  expect(await ledgerOf(orderId)).toHaveLength(1);
  expect(await placementsOf(instrument)).toEqual([orderId]);
  expect(await workflowRuns(orderId)).toHaveLength(1);
}

function expectFirstAnswer(response: JsonResponse, instrument: string): void {
  expect(response.status).toBe(201);
  expect(response.headers.get('idempotent-replayed')).toBeNull();
  expect(response.body).toMatchObject({ instrument, status: 'accepted', workflow_id: `order-${response.body.id}` });
}

function expectReplayOf(response: JsonResponse, first: JsonResponse): void {
  expect(response.status).toBe(first.status);
  expect(response.headers.get('idempotent-replayed')).toBe('true');
  expect(response.text).toBe(first.text);
}

describe('Idempotency-Key: the same key with the same order', SLOW, () => {
  it('answers sequential repeats with the first answer, marked replayed, and creates nothing more', async () => {
    const instrument = uniqueInstrument();
    const key = newKey();
    const body = marketOrder(instrument);

    const first = await post(body, key);
    expectFirstAnswer(first, instrument);
    const repeat = await post(body, key);
    expectReplayOf(repeat, first);

    await expectPlacedOnce(first.body.id, instrument);
    // After placement too, the stored (first) answer comes back, not the order's current state.
    const late = await post(body, key);
    expectReplayOf(late, first);

    const order = await onlyOrderOf(instrument);
    expect(order).toMatchObject({ id: first.body.id, idempotency_key: key });
    expect(reachedExchange(order.status)).toBe(true);
    expect(await keyRow(key)).toMatchObject({ order_id: first.body.id, response_status: 201, response_body: first.text });
    expect(await ledgerOf(first.body.id)).toHaveLength(1);
  });

  it('takes the same order written differently (key order, 10.5 vs "10.50", null vs absent) as the same request', async () => {
    const instrument = uniqueInstrument();
    const key = newKey();

    const first = await post(`{"type":"limit","side":"sell","instrument":"${instrument}","limit_price":10.5,"quantity":3}`, key);
    expectFirstAnswer(first, instrument);
    expect(first.text).toContain('"limit_price":10.50');
    for (const variant of [
      `{"quantity":3,"limit_price":"10.50","instrument":"${instrument}","side":"sell","type":"limit"}`,
      `{"limit_price":10.50,"type":"limit","quantity":3,"side":"sell","instrument":"${instrument}"}`,
      `{ "type" : "limit", "side" : "sell", "instrument" : "${instrument}", "limit_price" : "10.5", "quantity" : 3.0 }`,
    ]) {
      expectReplayOf(await post(variant, key), first);
    }

    const marketKey = newKey();
    const market = await post({ ...marketOrder(instrument, 7) }, marketKey);
    expectFirstAnswer(market, instrument);
    expectReplayOf(await post({ ...marketOrder(instrument, 7), limit_price: null }, marketKey), market);

    expect((await ordersOf(instrument)).map((o) => o.id).sort()).toEqual([first.body.id, market.body.id].sort());
    await waitForPlaced(first.body.id);
    await waitForPlaced(market.body.id);
    expect(await ledgerOf(first.body.id)).toHaveLength(1);
    expect(await ledgerOf(market.body.id)).toHaveLength(1);
    expect((await placementsOf(instrument)).sort()).toEqual([first.body.id, market.body.id].sort());
  });

  it('gives 20 concurrent duplicates one order, one workflow and one placement', async () => {
    const instrument = uniqueInstrument();
    const key = newKey();
    const body = { type: 'limit', side: 'buy', instrument, limit_price: 187.25, quantity: 10 };

    const answers = await Promise.all(Array.from({ length: 20 }, () => post(body, key)));

    for (const answer of answers) expect([201, 409]).toContain(answer.status);
    const created = answers.filter((a) => a.status === 201);
    const fresh = created.filter((a) => a.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    const first = fresh[0]!;
    expectFirstAnswer(first, instrument);
    for (const replay of created.filter((a) => a !== first)) expectReplayOf(replay, first);
    for (const conflict of answers.filter((a) => a.status === 409)) {
      expect(conflict.body.message).toMatch(/still being processed/);
      expect(conflict.headers.get('idempotent-replayed')).toBeNull();
    }

    const order = await onlyOrderOf(instrument);
    expect(order).toMatchObject({ id: first.body.id, idempotency_key: key });
    const { rows } = await stack.db.query('SELECT id FROM orders WHERE idempotency_key = $1', [key]);
    expect(rows).toEqual([{ id: first.body.id }]);

    const description = await stack.temporal.workflow.getHandle(`order-${first.body.id}`).describe();
    expect(description.type).toBe('placeOrderWorkflow');
    expect(description.taskQueue).toBe(config.TEMPORAL_TASK_QUEUE);
    await expectPlacedOnce(first.body.id, instrument);

    // Once all is done, the key still answers with the one order.
    expectReplayOf(await post(body, key), first);
    expect(await ordersOf(instrument)).toHaveLength(1);
  });
});

describe('Idempotency-Key: conflicts', SLOW, () => {
  it('answers 422 for the same key with a different order, and creates nothing', async () => {
    const instrument = uniqueInstrument();
    const other = uniqueInstrument();
    const key = newKey();
    const first = await post(marketOrder(instrument, 5), key);
    expectFirstAnswer(first, instrument);

    for (const changed of [marketOrder(instrument, 6), marketOrder(other, 5), { ...marketOrder(instrument, 5), side: 'sell' }]) {
      const mismatch = await post(changed, key);
      expect(mismatch.status).toBe(422);
      expect(mismatch.body.message).toMatch(/different request body/);
      expect(mismatch.headers.get('idempotent-replayed')).toBeNull();
    }

    expect(await ordersOf(other)).toHaveLength(0);
    expect(await onlyOrderOf(instrument)).toMatchObject({ id: first.body.id });
    expect(await keyRow(key)).toMatchObject({ order_id: first.body.id, response_status: 201, response_body: first.text });
    expectReplayOf(await post(marketOrder(instrument, 5), key), first);
    await expectPlacedOnce(first.body.id, instrument);
  });

  it('answers 409 while the first request with the key is still running, then the first answer', async () => {
    const instrument = uniqueInstrument();
    const key = newKey();
    const body = marketOrder(instrument);
    const reached = deferred();
    const release = deferred();
    releases.push(() => release.resolve());
    let held = false;
    faultHook = async (point: FaultPoint) => {
      if (point !== 'afterStart' || held) return;
      held = true;
      reached.resolve();
      await release.promise;
    };

    const firstPending = post(body, key);
    // Until the first request has stored its order, started its workflow and is held.
    await Promise.race([
      reached.promise,
      firstPending.then((early) => {
        throw new Error(`the first request answered ${early.status} ${early.text} before it was held`);
      }),
    ]);

    const inFlight = await post(body, key);
    expect(inFlight.status).toBe(409);
    expect(inFlight.body.message).toMatch(/still being processed/);
    expect(inFlight.headers.get('idempotent-replayed')).toBeNull();
    const otherBody = await post(marketOrder(instrument, 99), key);
    expect(otherBody.status).toBe(422);
    expect(await keyRow(key)).toMatchObject({ order_id: null, response_status: null, response_body: null });
    // Its workflow runs and may have claimed it already.
    const heldOrder = await onlyOrderOf(instrument);
    expect(heldOrder.idempotency_key).toBe(key);
    expect(['pending', 'placing', 'placed', 'partially_filled', 'filled']).toContain(heldOrder.status);

    release.resolve();
    const first = await firstPending;
    expectFirstAnswer(first, instrument);
    expectReplayOf(await post(body, key), first);
    expect(await onlyOrderOf(instrument)).toMatchObject({ id: first.body.id });
    await expectPlacedOnce(first.body.id, instrument);
  });
});

describe('Idempotency-Key: what is not stored', SLOW, () => {
  it('stores nothing for a request that fails validation, so the key can then be used with a valid order', async () => {
    const instrument = uniqueInstrument();
    const key = newKey();

    const invalid = await post({ ...marketOrder(instrument), quantity: 0 }, key);
    expect(invalid.status).toBe(422);
    expect(invalid.body.detail[0].loc).toEqual(['body', 'quantity']);
    const malformed = await post('{"type":', key);
    expect(malformed.status).toBe(400);
    const unknownField = await post({ ...marketOrder(instrument), limitprice: 1 }, key);
    expect(unknownField.status).toBe(422);
    expect(await keyRow(key)).toBeUndefined();
    expect(await ordersOf(instrument)).toHaveLength(0);

    const valid = await post(marketOrder(instrument), key);
    expectFirstAnswer(valid, instrument);
    expect(await keyRow(key)).toMatchObject({ order_id: valid.body.id, response_status: 201 });
    await expectPlacedOnce(valid.body.id, instrument);
  });

  // A fault after the start races the workflow's claim (500 or 201): test/system/request-faults.test.ts
  // takes each side of that race in turn.
  it.each(['afterInsert'] as const)(
    'does not store a 500 (fault %s): a retry with the key places a new order, the failed one is rejected and never placed',
    async (step) => {
      const instrument = uniqueInstrument();
      const key = newKey();
      const body = marketOrder(instrument);
      let thrown = false;
      faultHook = (point: FaultPoint) => {
        if (point === step && !thrown) {
          thrown = true;
          throw new Error(`injected fault at ${step}`);
        }
      };

      const failed = await post(body, key);
      expect(failed.status).toBe(500);
      expect(failed.text).toBe(EXACT_500);
      expect(await keyRow(key)).toBeUndefined();
      const rejected = await onlyOrderOf(instrument);
      expect(rejected.status).toBe('rejected');
      expect(rejected.rejected_reason).toMatch(/could not be confirmed/);
      expect(rejected.rejected_at).toBeInstanceOf(Date);

      const retry = await post(body, key);
      expectFirstAnswer(retry, instrument);
      expect(retry.body.id).not.toBe(rejected.id);
      expect(await keyRow(key)).toMatchObject({ order_id: retry.body.id, response_status: 201, response_body: retry.text });
      expectReplayOf(await post(body, key), retry);

      await waitForPlaced(retry.body.id);
      const orders = await ordersOf(instrument);
      expect(orders.map((o) => [o.id, o.status === 'rejected' ? 'rejected' : reachedExchange(o.status)])).toEqual([
        [rejected.id, 'rejected'],
        [retry.body.id, true],
      ]);
      expect(orders[0]!.idempotency_key).toBeNull(); // the failed order gave its key back
      expect(await ledgerOf(rejected.id)).toHaveLength(0);
      expect(await ledgerOf(retry.body.id)).toHaveLength(1);
      expect(await placementsOf(instrument)).toEqual([retry.body.id]);
    },
  );
});

describe('Idempotency-Key: a failure after the order was accepted', SLOW, () => {
  it('never answers 500 for an accepted order when storing its answer under the key fails', async () => {
    const instrument = uniqueInstrument();
    const key = newKey();
    const body = marketOrder(instrument);
    // Once the order is accepted, another session holds the key's row locked: the write of the
    // answer under the key then fails (statement timeout), as it would with the database hung.
    const locker = new pg.Client({ connectionString: config.DATABASE_URL });
    await locker.connect();
    releases.push(() => void locker.end().catch(() => {}));
    faultHook = async (point: FaultPoint) => {
      if (point !== 'beforeAnswer') return;
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM idempotency_keys WHERE key = $1 FOR UPDATE', [key]);
    };

    let answer: JsonResponse;
    try {
      answer = await post(body, key);
    } finally {
      faultHook = undefined;
      await locker.query('ROLLBACK').catch(() => {});
    }

    const order = await onlyOrderOf(instrument);
    await waitForPlaced(order.id); // it was accepted, so it is placed...
    expect(await ledgerOf(order.id)).toHaveLength(1);
    // ...and so the answer must have been 201 with that order: a 500 must mean "never placed".
    expect(answer.status).toBe(201);
    expect(answer.body.id).toBe(order.id);

    // A retry with the key creates nothing new, whatever it answers while the key is settled.
    const retry = await post(body, key);
    expect([201, 409]).toContain(retry.status);
    if (retry.status === 201) expect(retry.body.id).toBe(order.id);
    expect(await ordersOf(instrument)).toHaveLength(1);
    expect(await placementsOf(instrument)).toEqual([order.id]);
  });
});

describe('Idempotency-Key: format and retention', SLOW, () => {
  it.each([
    ['300 characters', 'k'.repeat(300)],
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'has space'],
    ['a control character', 'tab\there'],
  ])('answers 400 for a key with %s, and stores nothing', async (_what, key) => {
    const instrument = uniqueInstrument();
    const response = await post(marketOrder(instrument), key);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/Idempotency-Key/);
    expect(await ordersOf(instrument)).toHaveLength(0);
    expect(await keyRow(key)).toBeUndefined();
  });

  it('takes a key of 255 visible characters', async () => {
    const instrument = uniqueInstrument();
    const key = `${randomUUID()}~!#$%&'*+-.^_\`|`.padEnd(255, 'z');
    const first = await post(marketOrder(instrument), key);
    expectFirstAnswer(first, instrument);
    expectReplayOf(await post(marketOrder(instrument), key), first);
    expect(await ordersOf(instrument)).toHaveLength(1);
  });

  it('keeps a key for at least 24 hours, and the sweep does not delete it before then', async () => {
    const instrument = uniqueInstrument();
    const key = newKey();
    const first = await post(marketOrder(instrument), key);
    expectFirstAnswer(first, instrument);

    const stored = await keyRow(key);
    expect(stored).toBeDefined();
    expect(stored!.retention_ms).toBeGreaterThanOrEqual(DAY_MS);
    expect(stored!.expires_at.getTime() - Date.now()).toBeGreaterThan(DAY_MS - 60_000);
    // So is every key stored by this file's tests so far: none is kept less than 24 hours.
    const { rows } = await stack.db.query<{ key: string; retention_ms: number }>(
      `SELECT key, (EXTRACT(EPOCH FROM (expires_at - created_at)) * 1000)::float8 AS retention_ms
       FROM idempotency_keys WHERE starts_with(key, $1) ORDER BY retention_ms LIMIT 1`,
      [KEY_PREFIX],
    );
    expect(rows[0]?.retention_ms).toBeGreaterThanOrEqual(DAY_MS);

    // The sweep deletes expired keys (a large staleAfterMs, so it rejects no one's pending order).
    await stack.temporal.workflow.execute('sweepStaleOrdersWorkflow', {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: `sweep-test-${randomUUID()}`,
      args: [3_600_000],
    });
    expect(await keyRow(key)).toMatchObject({ order_id: first.body.id, response_status: 201 });
    expectReplayOf(await post(marketOrder(instrument), key), first);
  });
});
