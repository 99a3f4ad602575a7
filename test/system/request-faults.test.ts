import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_ERROR_BODY } from '../../api/errors.js';
import { type ApiServer, startApiServer } from '../../api/server.js';
import type { FaultInjector, FaultPoint } from '../../api/submit-order.js';
import { createLogger } from '../../config/logger.js';
import { REJECTION_REASONS } from '../../domain/order.js';
import { type JsonResponse, postJson } from '../support/http.js';
import { reachedExchange, uniqueInstrument, workflowPlacedStatus } from '../support/orders.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// A fault at each step of POST /orders (after the insert, after the workflow's start, before the
// answer): first thrown inside the API, then as the API process dying by SIGKILL at that step.
// Whatever happens, a 201 means placed exactly once, a 500 means never placed, and an order its
// request left pending without a workflow is rejected by the stale-order sweep.
const EXACT_500 = JSON.stringify(INTERNAL_ERROR_BODY);
const API_REJECTION = /could not be confirmed/;
// Longer than any live request can take (docs/api.md, "Bounded time": about 13 s at worst), so the sweep only ever
// rejects orders whose request died, including those of other test files sharing the database.
const STALE_MS = 20_000;
// Orders this file's worker has claimed (the claim is a local activity, invisible to the server,
// so the worker itself reports it), and a gate that holds every claim while it is closed.
const claimed = new Set<string>();
let claimGate: Promise<void> | undefined;
// The activities that claim an order: claimOrder alone, or a healthy order's claim, exchange
// call and record as one (claimPlaceAndRecord, which takes the ticket and answers what it did).
const CLAIMING_ACTIVITIES = new Set(['claimOrder', 'claimPlaceAndRecord']);
const claimedNow = (result: unknown) =>
  result === 'placing' || (typeof result === 'object' && result !== null && (result as { claimed?: unknown }).claimed === 'placing');
const orderIdOf = (arg: unknown) => (typeof arg === 'string' ? arg : String((arg as { id: string }).id));

// No API of the stack: each describe starts its own (in-process with faults, or processes).
// A generous budget: the machine is small and shared, and a slow start is not under test here.
const stack = useStack(
  { EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0.2', ORDER_BUDGET_MS: '15000' },
  {
    api: false,
    worker: {
      workerOptions: {
        interceptors: {
          activity: [
            (ctx) => ({
              inbound: {
                async execute(input, next) {
                  if (!CLAIMING_ACTIVITIES.has(ctx.info.activityType)) return next(input);
                  await claimGate;
                  const result = await next(input);
                  if (claimedNow(result)) claimed.add(orderIdOf(input.args[0]));
                  return result;
                },
              },
            }),
          ],
        },
      },
    },
  },
);
const { config, waitForPlaced, ledgerOf } = stack;

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const marketOrder = (instrument: string) => ({ type: 'market', side: 'sell', instrument, quantity: 3 });

interface OrderRow {
  id: string;
  status: string;
  rejected_reason: string | null;
  rejected_at: Date | null;
  placed_at: Date | null;
}

async function onlyOrderOf(instrument: string): Promise<OrderRow> {
  const { rows } = await stack.db.query<OrderRow>(
    'SELECT id, status, rejected_reason, rejected_at, placed_at FROM orders WHERE instrument = $1',
    [instrument],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function orderById(id: string): Promise<OrderRow> {
  const { rows } = await stack.db.query<OrderRow>('SELECT id, status, rejected_reason, rejected_at, placed_at FROM orders WHERE id = $1', [
    id,
  ]);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

const workflowOf = (orderId: string) => stack.temporal.workflow.getHandle(`order-${orderId}`);

async function expectNoWorkflow(orderId: string): Promise<void> {
  await expect(workflowOf(orderId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

function expectRejectedByApi(order: OrderRow): void {
  expect(order.status).toBe('rejected');
  expect(order.rejected_reason).toMatch(API_REJECTION);
  expect(order.rejected_at).toBeInstanceOf(Date);
  expect(order.placed_at).toBeNull();
}

/** Waits until the order is older than the sweep's threshold, then runs one sweep directly. */
async function sweepOnceStale(orderId: string): Promise<{ rejectedOrderIds: string[] }> {
  await waitFor(
    async () => {
      const { rows } = await stack.db.query<{ stale: boolean }>(
        'SELECT created_at < now() - make_interval(secs => $2) AS stale FROM orders WHERE id = $1',
        [orderId, STALE_MS / 1000 + 0.5],
      );
      return rows[0]?.stale ? true : undefined;
    },
    STALE_MS + 30_000,
    `order ${orderId} to be older than ${STALE_MS} ms`,
  );
  return stack.temporal.workflow.execute('sweepStaleOrdersWorkflow', {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: `sweep-test-${randomUUID()}`,
    args: [STALE_MS],
  });
}

describe('a fault thrown inside the API at each step of the request', { timeout: 120_000 }, () => {
  let api: ApiServer;
  let faultHook: FaultInjector | undefined;
  let releaseHeld: (() => void) | undefined;

  beforeAll(async () => {
    api = await startApiServer(config, createLogger('api', 'silent'), (point) => faultHook?.(point));
  });
  afterEach(() => {
    faultHook = undefined;
    releaseHeld?.(); // requests a failed test left held
    releaseHeld = undefined;
  });
  afterAll(async () => {
    await api?.close();
  });

  /** Throws once, at `step`. */
  function throwAt(step: FaultPoint): void {
    let thrown = false;
    faultHook = (point) => {
      if (point === step && !thrown) {
        thrown = true;
        throw new Error(`injected fault at ${step}`);
      }
    };
  }

  const post = (body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> => postJson(`${api.url}/orders`, body, headers);

  it('afterInsert: exact 500, the order is rejected, and no workflow ever places it', async () => {
    const instrument = uniqueInstrument();
    throwAt('afterInsert');
    const response = await post(marketOrder(instrument));
    expect(response.status).toBe(500);
    expect(response.text).toBe(EXACT_500);
    const order = await onlyOrderOf(instrument);
    expectRejectedByApi(order);

    // The worker is alive and placing: an order sent after it gets placed...
    const control = await post(marketOrder(uniqueInstrument()));
    expect(control.status).toBe(201);
    await waitForPlaced(control.body.id);
    expect(await ledgerOf(control.body.id)).toHaveLength(1);
    // ...while the failed one never got a workflow and never reached the exchange.
    await expectNoWorkflow(order.id);
    expect(await ledgerOf(order.id)).toHaveLength(0);
    expectRejectedByApi(await orderById(order.id));
  });

  it('afterStart (its acknowledgement lost), the rejection first: exact 500, its workflow ends rejected, never placed', async () => {
    const instrument = uniqueInstrument();
    const gate = deferred();
    claimGate = gate.promise;
    try {
      throwAt('afterStart');
      const response = await post(marketOrder(instrument));
      expect(response.status).toBe(500);
      expect(response.text).toBe(EXACT_500);
      const order = await onlyOrderOf(instrument);
      expectRejectedByApi(order);
      // The workflow was started: it now claims, finds the order rejected, and stops.
      expect((await workflowOf(order.id).describe()).status.name).toBe('RUNNING');
      gate.resolve();
      expect(await workflowOf(order.id).result()).toEqual({ orderId: order.id, status: 'rejected' });
      expect(await ledgerOf(order.id)).toHaveLength(0);
      expectRejectedByApi(await orderById(order.id));
    } finally {
      gate.resolve();
      claimGate = undefined;
    }
  });

  it('afterStart (its acknowledgement lost), the claim first: 201, placed exactly once', async () => {
    const instrument = uniqueInstrument();
    faultHook = async (point) => {
      if (point !== 'afterStart') return;
      // Hold the request until the workflow has claimed its order, then fail as a lost ack would.
      const { rows } = await stack.db.query<{ id: string }>('SELECT id FROM orders WHERE instrument = $1', [instrument]);
      await waitFor(async () => claimed.has(rows[0]!.id) || undefined, 60_000, 'the workflow to claim the order');
      throw new Error('injected fault at afterStart');
    };
    const response = await post(marketOrder(instrument));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ instrument, status: 'accepted' });
    await waitForPlaced(response.body.id);
    const placed = await orderById(response.body.id);
    expect(placed.rejected_reason).toBeNull();
    expect(await ledgerOf(response.body.id)).toHaveLength(1);
  });

  it('afterStart slow, every workflow claiming before its API records acceptance: every 201 is placed exactly once', {
    timeout: 180_000,
  }, async () => {
    // The order's workflow claims the pending order as soon as it runs, usually before the API
    // records `accepted`. Here every request is held after the start until its workflow's claim
    // is done, then all are let go: each acceptance finds its order already placing.
    const ORDERS = 20;
    const instrument = uniqueInstrument();
    let held = 0;
    const allHeld = deferred();
    const go = deferred();
    releaseHeld = () => go.resolve();
    faultHook = async (point) => {
      if (point !== 'afterStart') return;
      held += 1;
      if (held === ORDERS) allHeld.resolve();
      await go.promise;
    };

    const posts = Array.from({ length: ORDERS }, (_, i) => post({ ...marketOrder(instrument), quantity: i + 1 }));
    await Promise.race([
      allHeld.promise,
      Promise.all(posts).then((answers) => {
        throw new Error(`requests answered before all were held: ${answers.map((a) => a.status).join(',')}`);
      }),
    ]);
    const { rows } = await stack.db.query<{ id: string }>('SELECT id FROM orders WHERE instrument = $1', [instrument]);
    const ids = rows.map((row) => row.id).sort();
    expect(ids).toHaveLength(ORDERS);
    await waitFor(async () => ids.every((id) => claimed.has(id)) || undefined, 60_000, "every order's workflow to claim it");
    go.resolve();

    const answers = await Promise.all(posts);
    expect(answers.map((answer) => answer.status)).toEqual(ids.map(() => 201));
    expect(answers.map((answer) => answer.body.id).sort()).toEqual(ids);

    // Every workflow places its order exactly once (its view says placed only after it recorded
    // the placement, so no waiting for the database here).
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const workflow = reachedExchange(await workflowPlacedStatus(workflowOf(id)));
        return { id, workflow, placed: reachedExchange((await orderById(id)).status), ledgerRows: (await ledgerOf(id)).length };
      }),
    );
    expect(outcomes).toEqual(ids.map((id) => ({ id, workflow: true, placed: true, ledgerRows: 1 })));
  });

  it('beforeAnswer: 201 (the order was already accepted), placed exactly once', async () => {
    const instrument = uniqueInstrument();
    const key = `faults-${randomUUID()}`;
    throwAt('beforeAnswer');
    const response = await post(marketOrder(instrument), { 'Idempotency-Key': key });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ instrument, status: 'accepted', workflow_id: `order-${response.body.id}` });
    expect((await onlyOrderOf(instrument)).id).toBe(response.body.id);

    await waitForPlaced(response.body.id);
    const placed = await orderById(response.body.id);
    expect(placed.rejected_reason).toBeNull();
    expect(reachedExchange(await workflowPlacedStatus(workflowOf(response.body.id)))).toBe(true);
    expect(await ledgerOf(response.body.id)).toHaveLength(1);

    // Its 201 was stored under the key: a retry gets it again and creates nothing.
    const replay = await post(marketOrder(instrument), { 'Idempotency-Key': key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(response.text);
    expect((await onlyOrderOf(instrument)).id).toBe(response.body.id);
  });
});

describe('the API process killed (SIGKILL) at each step of the request', () => {
  const processes: ServiceProcess[] = [];
  let retryApi: ApiServer;

  beforeAll(async () => {
    // A second, healthy API on the same database and task queue, for retries after the crash.
    retryApi = await startApiServer(config, createLogger('api', 'silent'));
  });
  afterEach(async () => {
    for (const service of processes.splice(0)) await service.kill();
  });
  afterAll(async () => {
    await retryApi?.close();
  });

  /** Starts an API process that kills itself at `step`, posts one order to it, expects no answer. */
  async function postToCrashingApi(step: FaultPoint, instrument: string, key: string): Promise<OrderRow> {
    const api = await startService('api', {
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      ORDER_BUDGET_MS: String(config.ORDER_BUDGET_MS),
      API_TEST_CRASH_AT: step,
    });
    processes.push(api);
    await expect(postJson(`${api.url}/orders`, marketOrder(instrument), { 'Idempotency-Key': key })).rejects.toThrow();
    await api.exited();
    expect(api.child.signalCode).toBe('SIGKILL');
    return onlyOrderOf(instrument);
  }

  /** The key of the dead request is still held: a retry is told to wait, and creates nothing. */
  async function expectKeyStillHeld(instrument: string, key: string): Promise<void> {
    const retry = await postJson(`${retryApi.url}/orders`, marketOrder(instrument), { 'Idempotency-Key': key });
    expect(retry.status).toBe(409);
    expect(retry.body.message).toMatch(/still being processed/);
  }

  function expectRejectedBySweep(order: OrderRow): void {
    expect(order.status).toBe('rejected');
    expect(order.rejected_reason).toBe(REJECTION_REASONS.staleOrder);
    expect(order.rejected_at).toBeInstanceOf(Date);
    expect(order.placed_at).toBeNull();
  }

  it('afterInsert: no answer; the pending order is rejected by the sweep and never placed', { timeout: 180_000 }, async () => {
    const instrument = uniqueInstrument();
    const key = `crash-${randomUUID()}`;
    const order = await postToCrashingApi('afterInsert', instrument, key);
    expect(order.status).toBe('pending');
    await expectKeyStillHeld(instrument, key);
    await expectNoWorkflow(order.id);

    await sweepOnceStale(order.id);
    expectRejectedBySweep(await orderById(order.id));
    await expectNoWorkflow(order.id);
    expect(await ledgerOf(order.id)).toHaveLength(0);
    expect((await onlyOrderOf(instrument)).id).toBe(order.id);
  });

  it('afterStart: no answer; its workflow places the order exactly once, and the sweep never rejects it', {
    timeout: 180_000,
  }, async () => {
    const instrument = uniqueInstrument();
    const key = `crash-${randomUUID()}`;
    // Claims held: the order stays pending with its workflow running, past the sweep's threshold.
    const gate = deferred();
    claimGate = gate.promise;
    try {
      const order = await postToCrashingApi('afterStart', instrument, key);
      expect(order.status).toBe('pending');
      await expectKeyStillHeld(instrument, key);
      expect((await workflowOf(order.id).describe()).status.name).toBe('RUNNING');

      // A pending order whose workflow runs may have been answered 201: the sweep leaves it to
      // its workflow (recording it accepted) instead of rejecting it.
      const sweep = await sweepOnceStale(order.id);
      expect(sweep.rejectedOrderIds).not.toContain(order.id);
      expect((await orderById(order.id)).status).toBe('accepted');
      gate.resolve();

      expect(reachedExchange(await workflowPlacedStatus(workflowOf(order.id)))).toBe(true);
      expect(reachedExchange((await orderById(order.id)).status)).toBe(true);
      expect(await ledgerOf(order.id)).toHaveLength(1);
      expect((await onlyOrderOf(instrument)).id).toBe(order.id);
    } finally {
      gate.resolve();
      claimGate = undefined;
    }
  });

  it('beforeAnswer: no answer, but the order was accepted: placed exactly once, and the sweep leaves it alone', {
    timeout: 180_000,
  }, async () => {
    const instrument = uniqueInstrument();
    const key = `crash-${randomUUID()}`;
    const order = await postToCrashingApi('beforeAnswer', instrument, key);
    expect(['accepted', 'placing', 'placed', 'partially_filled', 'filled']).toContain(order.status);

    await waitForPlaced(order.id);
    const placed = await orderById(order.id);
    expect(placed.rejected_reason).toBeNull();
    expect(reachedExchange(await workflowPlacedStatus(workflowOf(order.id)))).toBe(true);
    expect(await ledgerOf(order.id)).toHaveLength(1);

    const sweep = await sweepOnceStale(order.id);
    expect(sweep.rejectedOrderIds).not.toContain(order.id);
    expect(reachedExchange((await orderById(order.id)).status)).toBe(true);
    expect(await ledgerOf(order.id)).toHaveLength(1);
    expect((await onlyOrderOf(instrument)).id).toBe(order.id);
  });
});
