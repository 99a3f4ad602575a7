import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { type OrderTicket, workflowIdFor } from '../../domain/order.js';
import { createVenueClient, type VenueClient } from '../../exchange/venue-client.js';
import { sweeperWorkflowId } from '../../worker/sweeper.js';
import { createOrderWorker, type OrderWorker } from '../../worker/worker.js';
import type { PlacementOutcome } from '../../workflows/order-workflow.js';
import { testConfig } from '../support/config.js';
import { postJson, request } from '../support/http.js';
import { type IngestStack, insertOrders, startIngestStack } from '../support/ingest-stack.js';
import { reachedExchange, uniqueInstrument } from '../support/orders.js';
import { venueControl, venueViewOf } from '../support/venue.js';
import { waitFor } from '../support/wait.js';

// Expiry of `day` orders against the real processes: a venue, an ingestion process (and, for the
// API path, a worker and an API) of this file's own, whose close is a few seconds after each
// order's acceptance (VENUE_DAY_TTL_MS), so the suite's shared venue keeps its real close.
// Two things end a day order at its close, and each is tested alone here: the venue's own
// close (its simulation's tick), and the order's workflow, whose timer at `expires_at` asks the
// venue to expire it (for a venue that missed its close). Either way the venue's `expired`
// report reaches the order through the ingestion process.

/** The venue's close, counted from each order's acceptance: room to place and partly fill an order before it. */
const CLOSE_AFTER_MS = 15_000;
/** Buy limits far below any price: nothing fills them but the control port. */
const FAR_LIMIT = '0.01';
const VENUE_CLOSE_TEXT = 'day order expired at the close';

interface VenueReport {
  exec_type: string;
  last_qty: number;
  cum_qty: number;
  leaves_qty: number;
  transact_time: string;
  text: string | null;
}
interface VenueOrderView {
  status: string;
  cum_qty: number;
  leaves_qty: number;
  expires_at: string | null;
  executions: VenueReport[];
}

async function venueOrder(stack: IngestStack, orderId: string): Promise<VenueOrderView> {
  return (await venueViewOf(orderId, stack.venue.controlUrl)) as unknown as VenueOrderView;
}

const lastReport = (view: VenueOrderView) => view.executions[view.executions.length - 1]!;

describe('at the venue’s close, the venue expires its open day orders (no workflow involved)', () => {
  const instrument = uniqueInstrument('EXV');
  let stack: IngestStack;
  let venueClient: VenueClient;

  beforeAll(async () => {
    stack = await startIngestStack({ prefix: 'expiry_venue', venueEnv: { VENUE_DAY_TTL_MS: String(CLOSE_AFTER_MS) } });
    await stack.startIngest();
    venueClient = createVenueClient({ address: stack.venue.address, requestTimeoutMs: 10_000, failureRate: 0, latencyMs: 0 });
  }, 240_000);

  afterAll(async () => {
    venueClient?.close();
    await stack?.close();
  });

  const ticket = (id: string, quantity: number, timeInForce: 'day' | 'gtc'): OrderTicket => ({
    id,
    type: 'limit',
    side: 'buy',
    instrument,
    limitPrice: FAR_LIMIT,
    quantity,
    timeInForce,
    createdAt: new Date().toISOString(),
  });

  const orderRow = async (id: string) =>
    (await stack.db.query('SELECT * FROM orders WHERE id = $1', [id])).rows[0] as {
      status: string;
      filled_quantity: number;
      expired_at: Date | null;
    };

  it('a resting day order ends expired, a partly filled one keeps its fills, a gtc order works on', { timeout: 180_000 }, async () => {
    const [gtc, resting, partial] = await insertOrders(stack.db, [
      { type: 'limit', instrument, limitPrice: FAR_LIMIT, quantity: 10, timeInForce: 'gtc' },
      { type: 'limit', instrument, limitPrice: FAR_LIMIT, quantity: 10, timeInForce: 'day' },
      { type: 'limit', instrument, limitPrice: FAR_LIMIT, quantity: 100, timeInForce: 'day' },
    ]);
    // The gtc order first: once the day orders have expired, its own acceptance is past a close too.
    expect(await venueClient.placeOrder(ticket(gtc!, 10, 'gtc'))).toEqual({ expiresAt: null });
    const placed = await Promise.all([
      venueClient.placeOrder(ticket(resting!, 10, 'day')),
      venueClient.placeOrder(ticket(partial!, 100, 'day')),
    ]);
    for (const { expiresAt } of placed) expect(expiresAt).not.toBeNull();
    await venueControl('/control/fill', { order_id: partial, qty: 25, px: '0.0100' }, stack.venue.controlUrl);

    for (const id of [resting!, partial!]) {
      const row = await waitFor(
        async () => {
          const current = await orderRow(id);
          return current.status === 'expired' ? current : undefined;
        },
        120_000,
        `order ${id} to expire`,
      );
      const venue = await venueOrder(stack, id);
      expect(venue.status).toBe('expired');
      const expiry = lastReport(venue);
      expect(expiry).toMatchObject({ exec_type: 'expired', text: VENUE_CLOSE_TEXT });
      // At the close, not before it.
      expect(Date.parse(expiry.transact_time)).toBeGreaterThanOrEqual(Date.parse(venue.expires_at!));
      expect(row.expired_at?.toISOString()).toBe(expiry.transact_time);
      expect(row.filled_quantity).toBe(venue.cum_qty);
      const { rows: outbox } = await stack.db.query('SELECT status::text, filled_quantity FROM order_terminal_outbox WHERE order_id = $1', [
        id,
      ]);
      expect(outbox).toEqual([{ status: 'expired', filled_quantity: venue.cum_qty }]);
    }
    expect((await orderRow(resting!)).filled_quantity).toBe(0);
    // What was filled before the close stays filled; only the open rest expired.
    expect((await orderRow(partial!)).filled_quantity).toBe(25);
    expect(lastReport(await venueOrder(stack, partial!))).toMatchObject({ cum_qty: 25, leaves_qty: 0 });

    const gtcAtVenue = await venueOrder(stack, gtc!);
    expect(gtcAtVenue).toMatchObject({ status: 'new', cum_qty: 0, expires_at: null });
    expect((await orderRow(gtc!)).status).toBe('placed');
  });
});

describe('at an order’s expires_at, its workflow asks the venue to expire it (a venue that misses its close)', () => {
  const instrument = uniqueInstrument('EXW');
  let stack: IngestStack;
  let worker: OrderWorker | undefined;
  let workerRun: Promise<void> | undefined;
  let api: ApiServer | undefined;
  let temporal: Client | undefined;
  let taskQueue = '';

  beforeAll(async () => {
    // The venue's tick, which ends day orders at their close, runs once an hour here: only the
    // workflow's request can expire an order within this test.
    stack = await startIngestStack({
      prefix: 'expiry_workflow',
      venueEnv: { VENUE_DAY_TTL_MS: String(CLOSE_AFTER_MS), VENUE_TICK_MS: String(60 * 60 * 1000) },
    });
    await stack.startIngest();
    const config = testConfig({
      DATABASE_URL: stack.databaseUrl,
      VENUE_ADDRESS: stack.venue.address,
      EXCHANGE_FAILURE_RATE: '0',
      EXCHANGE_LATENCY_MS: '20',
    });
    taskQueue = config.TEMPORAL_TASK_QUEUE;
    worker = await createOrderWorker(config);
    workerRun = worker.run();
    workerRun.catch(() => {}); // awaited at clean-up, which throws its error; until then a failure must not count as an unhandled rejection
    api = await startApiServer(config, createLogger('api', 'silent'));
    temporal = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }) });
  }, 240_000);

  afterAll(async () => {
    await api?.close();
    worker?.shutdown();
    await workerRun;
    await temporal?.workflow
      .getHandle(sweeperWorkflowId(taskQueue))
      .terminate('test over')
      .catch(() => {});
    await temporal?.connection.close();
    await stack?.close();
  });

  const orderOf = async (id: string) => {
    const answer = await request(`${api!.url}/orders/${id}`);
    expect(answer.status).toBe(200);
    return answer.body;
  };
  const untilOrder = (
    id: string,
    accept: (order: { status: string; expires_at: string | null }) => boolean,
    what: string,
    timeoutMs = 120_000,
  ) =>
    waitFor(
      async () => {
        const order = await orderOf(id);
        return accept(order) ? order : undefined;
      },
      timeoutMs,
      `order ${id} ${what}`,
    );
  const post = async (quantity: number, timeInForce?: 'gtc') => {
    const body = {
      type: 'limit',
      side: 'buy',
      instrument,
      limit_price: FAR_LIMIT,
      quantity,
      ...(timeInForce ? { time_in_force: timeInForce } : {}),
    };
    const created = await postJson(`${api!.url}/orders`, body);
    expect(created.status).toBe(201);
    return created.body.id as string;
  };

  it('day orders end expired in GET /orders/:id (the filled part kept), the venue agrees, their workflows complete; gtc works on', {
    timeout: 240_000,
  }, async () => {
    // The gtc order first: once the day orders have expired, its own acceptance is past a close too.
    const gtc = await post(10, 'gtc');
    const gtcPlaced = await untilOrder(gtc, (o) => reachedExchange(o.status), 'placed', 60_000);
    expect(gtcPlaced).toMatchObject({ time_in_force: 'gtc', expires_at: null });
    // Without time_in_force: a day order.
    const [resting, partial] = await Promise.all([post(10), post(100)]);
    for (const id of [resting, partial]) {
      // The close the venue answered at placement, kept on the order (the workflow records it
      // once the venue answered: the ingestion process may have placed the order before).
      const order = await untilOrder(id, (o) => reachedExchange(o.status) && o.expires_at !== null, 'placed with its expires_at', 60_000);
      expect(order.time_in_force).toBe('day');
      expect(order.expires_at).toBe((await venueOrder(stack, id)).expires_at);
    }
    await venueControl('/control/fill', { order_id: partial, qty: 40, px: '0.0100' }, stack.venue.controlUrl);
    await untilOrder(partial, (o) => o.status === 'partially_filled', 'partially filled');

    for (const id of [resting, partial]) {
      const order = await untilOrder(id, (o) => o.status === 'expired', 'to expire');
      const venue = await venueOrder(stack, id);
      expect(venue.status).toBe('expired');
      const expiry = lastReport(venue);
      // Ended by the workflow's expire request (the venue's own close writes its text).
      expect(expiry).toMatchObject({ exec_type: 'expired', text: null });
      expect(order.expired_at).not.toBeNull();
      expect(Date.parse(order.expired_at)).toBe(Date.parse(expiry.transact_time));
      // At the close, not before it.
      expect(Date.parse(order.expired_at)).toBeGreaterThanOrEqual(Date.parse(order.expires_at));
      expect(order.filled_quantity).toBe(venue.cum_qty);
      const result: PlacementOutcome = await temporal!.workflow.getHandle(workflowIdFor(id)).result();
      expect(result).toEqual({ orderId: id, status: 'expired' });
      expect((await temporal!.workflow.getHandle(workflowIdFor(id)).describe()).status.name).toBe('COMPLETED');
    }
    const expiredResting = await orderOf(resting);
    expect(expiredResting).toMatchObject({ filled_quantity: 0, average_fill_price: null, filled_at: null });
    // What was filled before the close stays filled; only the open rest expired.
    const expiredPartial = await orderOf(partial);
    expect(expiredPartial.filled_quantity).toBe(40);
    expect(Number(expiredPartial.average_fill_price)).toBe(0.01);
    const executions = await request(`${api!.url}/orders/${partial}/executions?limit=500`);
    const venueFills = (await venueOrder(stack, partial)).executions.filter((e) => e.exec_type === 'partial_fill');
    expect(
      (executions.body.data as { exec_type: string; quantity: number }[])
        .filter((e) => e.exec_type === 'partial_fill')
        .map((e) => e.quantity),
    ).toEqual(venueFills.map((e) => e.last_qty));

    // The gtc order is past a close and still working, at the venue and in its workflow.
    expect(await orderOf(gtc)).toMatchObject({ status: 'placed', expired_at: null });
    expect(await venueOrder(stack, gtc)).toMatchObject({ status: 'new', expires_at: null });
    const gtcWorkflow = temporal!.workflow.getHandle(workflowIdFor(gtc));
    expect((await gtcWorkflow.describe()).status.name).toBe('RUNNING');
    // Ended by its client, so that no workflow of this file outlives it.
    const cancel = await request(`${api!.url}/orders/${gtc}`, { method: 'DELETE' });
    expect([200, 202]).toContain(cancel.status);
    await untilOrder(gtc, (o) => o.status === 'cancelled', 'cancelled');
    expect(await gtcWorkflow.result()).toEqual({ orderId: gtc, status: 'cancelled' });
  });
});
