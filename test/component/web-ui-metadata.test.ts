import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { workflowIdFor } from '../../domain/order.js';
import { AccountsRepository, type CreatedApiKey } from '../../prisma/accounts-repository.js';
import { createPrismaClient } from '../../prisma/client.js';
import { ACCOUNT_ID, INSTRUMENT, ORDER_ID, ORDER_STATUS, SIDE } from '../../temporal/search-attributes.js';
import { createOrderWorker, type OrderWorker } from '../../worker/worker.js';
import { testConfig } from '../support/config.js';
import { postJson, request } from '../support/http.js';
import { waitFor } from '../support/wait.js';

// What the Temporal Web UI shows of an order's workflow, read from the dev server as the UI reads
// it: the static summary from the workflow's description (user metadata), the live status from
// the workflow's metadata query (current details) and from the OrderStatus search attribute (a
// column and filter of the list). A placed order and a cancelled one must tell apart. Each
// carries the account that created it as the AccountId search attribute, and its OrderId,
// Instrument, Side and OrderStatus `accepted`, all set with the start; the workflow upserts
// OrderStatus when the order is placed and when it is final, not while it is placing.
const config = testConfig();
const HELD = 'DE000BASF111';
let api: ApiServer;
let worker: OrderWorker;
let running: Promise<void>;
let client: Client;
// Another account than the demo one (requests without a key), with a key of its own.
let other: CreatedApiKey;

beforeAll(async () => {
  const placed = new Map<string, number>();
  worker = await createOrderWorker(config, {
    // The exchange takes every order but those of HELD, which it keeps refusing as unreachable:
    // those stay placeable until a cancel wins.
    exchange: {
      async placeOrder(ticket) {
        if (!ticket || ticket.instrument === HELD) throw Object.assign(new Error('exchange unreachable'), { name: 'OrderPlacementError' });
        placed.set(ticket.id, ticket.quantity);
        return { expiresAt: null };
      },
      async cancelOrder(orderId) {
        // A placed order is taken as filled at once: the cancel is too late.
        const filled = placed.get(orderId);
        return filled !== undefined ? { outcome: 'filled', cumQty: filled } : { outcome: 'cancelled', cumQty: 0 };
      },
    },
  });
  running = worker.run();
  running.catch(() => {}); // awaited at clean-up, which throws its error; until then a failure must not count as an unhandled rejection
  api = await startApiServer(config, createLogger('api', 'silent'));
  client = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }) });
  const db = createPrismaClient({ url: config.DATABASE_URL, poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
  try {
    other = await new AccountsRepository(db).createKey(`web-ui-${Math.random().toString(36).slice(2, 10)}`);
  } finally {
    await db.$disconnect();
  }
});

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await running;
  await client?.connection.close();
});

async function finalStatus(id: string, headers: Record<string, string> = {}): Promise<string> {
  return waitFor(
    async () => {
      const order = await request(`${api.url}/orders/${id}`, { headers });
      return ['placed', 'cancelled', 'rejected'].includes(order.body.status) ? (order.body.status as string) : undefined;
    },
    60_000,
    `order ${id} decided`,
  );
}

async function currentDetails(workflowId: string): Promise<string | null | undefined> {
  const metadata = await client.workflow.getHandle(workflowId).query<temporal.api.sdk.v1.IWorkflowMetadata>('__temporal_workflow_metadata');
  return metadata.currentDetails;
}

const decode = (payload: temporal.api.common.v1.IPayload) => JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8'));

/** The search attributes the workflow's start carried, and each OrderStatus the workflow upserted. */
async function searchAttributeHistory(workflowId: string): Promise<{ atStart: Record<string, unknown>; statusUpserts: unknown[] }> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const fields = (attributes?: temporal.api.common.v1.ISearchAttributes | null) =>
    Object.fromEntries(Object.entries(attributes?.indexedFields ?? {}).map(([name, payload]) => [name, decode(payload)]));
  return {
    atStart: fields(events[0]?.workflowExecutionStartedEventAttributes?.searchAttributes),
    statusUpserts: events.flatMap((event) => {
      const upserted = event.upsertWorkflowSearchAttributesEventAttributes;
      const status = upserted ? fields(upserted.searchAttributes)[ORDER_STATUS.name] : undefined;
      return status === undefined ? [] : [status];
    }),
  };
}

describe('order workflows in the Temporal Web UI', () => {
  it('carry a readable summary and their live status: placed and cancelled tell apart', { timeout: 120_000 }, async () => {
    const bought = await postJson(`${api.url}/orders`, {
      type: 'limit',
      side: 'buy',
      instrument: 'US0378331005',
      limit_price: '187.25',
      quantity: 10,
    });
    expect(bought.status).toBe(201);
    // The sell order is the other account's: its key on every request about it.
    const otherKey = { Authorization: `Bearer ${other.apiKey}` };
    const sold = await postJson(`${api.url}/orders`, { type: 'market', side: 'sell', instrument: HELD, quantity: 3 }, otherKey);
    expect(sold.status).toBe(201);
    const [buyId, sellId] = [bought.body.id as string, sold.body.id as string];

    expect(await finalStatus(buyId)).toBe('placed');
    // While the exchange refuses it, the sell order's workflow says it is placing on its page;
    // in the list it stays `accepted` (placing is not upserted: it would cost the server a write).
    await waitFor(
      async () => ((await currentDetails(workflowIdFor(sellId))) === '**status:** placing' ? true : undefined),
      30_000,
      'placing',
    );
    const placing = await client.workflow.getHandle(workflowIdFor(sellId)).describe();
    expect(placing.typedSearchAttributes.get(ORDER_STATUS)).toBe('accepted');
    expect(placing.typedSearchAttributes.get(INSTRUMENT)).toBe(HELD);
    const cancel = await request(`${api.url}/orders/${sellId}`, { method: 'DELETE', headers: otherKey });
    expect([200, 202]).toContain(cancel.status);
    expect(await finalStatus(sellId, otherKey)).toBe('cancelled');

    const buy = await client.workflow.getHandle(workflowIdFor(buyId)).describe();
    const sell = await client.workflow.getHandle(workflowIdFor(sellId)).describe();
    expect(await buy.staticSummary()).toBe('buy 10 US0378331005 limit 187.25');
    expect(await sell.staticSummary()).toBe('sell 3 DE000BASF111 market');
    // The placed order works at the exchange (its workflow follows it until the venue ends it);
    // the cancelled one is done. The details say which status each has.
    expect(buy.status.name).toBe('RUNNING');
    expect(sell.status.name).toBe('COMPLETED');
    expect(await currentDetails(workflowIdFor(buyId))).toBe('**status:** placed');
    expect(await currentDetails(workflowIdFor(sellId))).toBe('**status:** cancelled');
    // Whose order each is: the demo account's (no key) and the other account's.
    expect(buy.typedSearchAttributes.get(ACCOUNT_ID)).toBe(DEMO_ACCOUNT_ID);
    expect(sell.typedSearchAttributes.get(ACCOUNT_ID)).toBe(other.accountId);
    expect(buy.typedSearchAttributes.get(ORDER_STATUS)).toBe('placed');
    expect(sell.typedSearchAttributes.get(ORDER_STATUS)).toBe('cancelled');
    expect([buy.typedSearchAttributes.get(ORDER_ID), buy.typedSearchAttributes.get(SIDE)]).toEqual([buyId, 'buy']);
    // Given with the start, not upserted; OrderStatus upserted only for what a filter needs.
    expect(await searchAttributeHistory(workflowIdFor(buyId))).toEqual({
      atStart: { OrderId: buyId, Instrument: 'US0378331005', Side: 'buy', OrderStatus: 'accepted', AccountId: DEMO_ACCOUNT_ID },
      statusUpserts: ['placed'],
    });
    expect(await searchAttributeHistory(workflowIdFor(sellId))).toEqual({
      atStart: { OrderId: sellId, Instrument: HELD, Side: 'sell', OrderStatus: 'accepted', AccountId: other.accountId },
      statusUpserts: ['cancelled'],
    });

    // The list, filtered as an operator would: cancelled orders of this test's task queue.
    const cancelledIds = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const execution of client.workflow.list({
          query: `TaskQueue = '${config.TEMPORAL_TASK_QUEUE}' AND OrderStatus = 'cancelled'`,
        }))
          ids.push(execution.workflowId);
        return ids.length > 0 ? ids : undefined;
      },
      30_000,
      'the cancelled order in the list',
    );
    expect(cancelledIds).toEqual([workflowIdFor(sellId)]);
    // And an account's orders, as support would look them up.
    const accountIds = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const execution of client.workflow.list({
          query: `TaskQueue = '${config.TEMPORAL_TASK_QUEUE}' AND AccountId = '${other.accountId}'`,
        }))
          ids.push(execution.workflowId);
        return ids.length > 0 ? ids : undefined;
      },
      30_000,
      "the other account's order in the list",
    );
    expect(accountIds).toEqual([workflowIdFor(sellId)]);
  });
});
