import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlacementStarter } from '../../api/placement-client.js';
import { type OrderTicket, workflowIdFor } from '../../domain/order.js';
import { orderTerminalSignal } from '../../temporal/messages.js';
import { registerSearchAttributes } from '../../temporal/search-attribute-registration.js';
import { ACCOUNT_ID, INSTRUMENT, ORDER_ID, ORDER_STATUS, SIDE } from '../../temporal/search-attributes.js';
import type { placeOrderWorkflow } from '../../workflows/order-workflow.js';
import { WORKFLOWS_PATH } from '../../workflows/path.js';
import { testConfig } from '../support/config.js';
import { createNamespace, placedAtOnce } from '../support/temporal-namespace.js';
import { waitFor } from '../support/wait.js';

// The API may start an order's workflow before any worker registered the search attributes on
// the namespace (a fresh cluster, the API up first). The start sets AccountId, OrderId,
// Instrument, Side and OrderStatus; it must not fail the order for that. Each case gets a
// namespace of its own on the suite's Temporal server, created here, so none of the order
// workflows' attributes is registered on it. A start sent without them leaves them to the
// workflow: once a worker registered them and runs it (fake activities here), it upserts them.
const config = testConfig();
const GRPC_PERMISSION_DENIED = 7;
let connection: Connection;

beforeAll(async () => {
  connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
});
afterAll(async () => {
  await connection?.close();
});

const freshNamespace = () => createNamespace(connection, 'bare');

function ticket(accountId: string): OrderTicket {
  return {
    id: crypto.randomUUID(),
    type: 'market',
    side: 'buy',
    instrument: 'US0378331005',
    limitPrice: null,
    quantity: 1,
    timeInForce: 'day',
    accountId,
    clientOrderId: null,
    createdAt: new Date().toISOString(),
  };
}

/** Starts the ticket's workflow, retrying while the new namespace is not yet known everywhere in the server. */
async function startOnce(client: Client, order: OrderTicket): Promise<void> {
  const starter = createPlacementStarter(client, config.TEMPORAL_TASK_QUEUE, 4);
  await waitFor(
    () =>
      starter.start(order, Date.now() + 10_000).then(
        () => true,
        (error: Error) => {
          if (/namespace/i.test(`${error.message} ${(error.cause as Error | undefined)?.message ?? ''}`)) return undefined;
          throw error;
        },
      ),
    30_000,
    'the start',
  );
}

describe('a workflow start on a namespace without the order search attributes', () => {
  it('registers the attributes and starts the workflow with its AccountId', { timeout: 60_000 }, async () => {
    const namespace = await freshNamespace();
    const client = new Client({ connection, namespace });
    const order = ticket(crypto.randomUUID());
    await startOnce(client, order);
    const described = await client.workflow.getHandle(workflowIdFor(order.id)).describe();
    expect(described.typedSearchAttributes.get(ACCOUNT_ID)).toBe(order.accountId);
    // The order's own attributes came with the start too: no worker ran it.
    expect(described.historyLength).toBe(2);
    expect([ORDER_ID, INSTRUMENT, SIDE, ORDER_STATUS].map((key) => described.typedSearchAttributes.get(key))).toEqual([
      order.id,
      'US0378331005',
      'buy',
      'accepted',
    ]);
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(['AccountId', 'OrderId', 'OrderStatus']));
  });

  it('starts the workflow without its attributes when it may not register them, and the workflow sets them', {
    timeout: 180_000,
  }, async () => {
    const namespace = await freshNamespace();
    // A connection whose operator calls are refused, as for an API without the operator's rights.
    let refused = 0;
    const operatorService = new Proxy(connection.operatorService, {
      get(target, property, receiver) {
        if (property !== 'addSearchAttributes') return Reflect.get(target, property, receiver);
        return async () => {
          refused += 1;
          throw Object.assign(new Error('7 PERMISSION_DENIED: not allowed'), { code: GRPC_PERMISSION_DENIED });
        };
      },
    });
    const restricted = new Proxy(connection, {
      get: (target, property, receiver) => (property === 'operatorService' ? operatorService : Reflect.get(target, property, receiver)),
    });
    const client = new Client({ connection: restricted, namespace });
    const order = ticket(crypto.randomUUID());
    await startOnce(client, order);
    expect(refused).toBe(1);
    const described = await client.workflow.getHandle(workflowIdFor(order.id)).describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.typedSearchAttributes.get(ACCOUNT_ID)).toBeUndefined();
    expect(described.typedSearchAttributes.get(ORDER_ID)).toBeUndefined();

    // A worker registers the attributes (it may) and runs the workflow: it sets the order's own.
    await registerSearchAttributes(connection, namespace);
    const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        workflowsPath: WORKFLOWS_PATH,
        activities: placedAtOnce,
      });
      const handle = client.workflow.getHandle<typeof placeOrderWorkflow>(workflowIdFor(order.id));
      const outcome = await worker.runUntil(async () => {
        await handle.signal(orderTerminalSignal, { status: 'filled', filledQuantity: 1 });
        return handle.result();
      });
      expect(outcome.status).toBe('filled');
      // Its history replays: the upsert follows from the start's attributes, which the history holds.
      await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, await handle.fetchHistory());
    } finally {
      await nativeConnection.close();
    }
    const completed = await client.workflow.getHandle(workflowIdFor(order.id)).describe();
    expect([ORDER_ID, INSTRUMENT, SIDE, ORDER_STATUS].map((key) => completed.typedSearchAttributes.get(key))).toEqual([
      order.id,
      'US0378331005',
      'buy',
      'filled',
    ]);
  });
});
