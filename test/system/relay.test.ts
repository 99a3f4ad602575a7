import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../config/logger.js';
import { workflowIdFor } from '../../domain/order.js';
import { createIngestMetrics, type IngestMetrics } from '../../ingest/metrics.js';
import { type Relay, startRelay } from '../../ingest/relay.js';
import { orderTerminalSignal } from '../../temporal/messages.js';
import { createDatabase, insertOrders } from '../support/ingest-stack.js';
import { waitFor } from '../support/wait.js';

// The terminal relay (ingest/relay.ts) in-process, against the suite's Temporal and a database of
// this file's own (the suite's ingestion process relays the shared one). Its signal is in the
// workflow's history once Temporal accepts it, with no worker running. Events whose signals keep
// timing out (injected: the relay's client holds those calls past their deadline, as a Temporal
// that does not answer for them would) are tried again and again, each waiting out its deadline,
// and must not hold up the events that come after them.
const TIMEOUT_MS = 3000;
const CONCURRENCY = 4;
// Six times the slots: in one lane, a new event would queue behind them for 18 s or more.
const STUCK = 6 * CONCURRENCY;

let db: pg.Pool;
let temporal: Client;
// The relay's own client: the same server, with the signals to `slowWorkflowIds` held too long.
let relayClient: Client;
const slowWorkflowIds = new Set<string>();
let relay: Relay | undefined;
let metrics: IngestMetrics;
const stuckWorkflowIds: string[] = [];

const relayed = async (outcome: string) =>
  (await metrics.relayed.get()).values.find((value) => value.labels.outcome === outcome)?.value ?? 0;

async function outboxRow(orderId: string) {
  await db.query(`INSERT INTO order_terminal_outbox (order_id, status, filled_quantity) VALUES ($1::uuid, 'filled', 1)`, [orderId]);
}

beforeAll(async () => {
  db = new pg.Pool({ connectionString: await createDatabase('relay'), max: 4 });
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
  relayClient = new Client({
    connection: temporal.connection,
    interceptors: {
      workflow: [
        {
          async signal(input, next) {
            // Sent after its deadline has passed: it fails as one the server never answered.
            if (slowWorkflowIds.has(input.workflowExecution.workflowId)) await sleep(TIMEOUT_MS + 200);
            return next(input);
          },
        },
      ],
    },
  });
});

afterAll(async () => {
  await relay?.stop();
  await Promise.all(
    stuckWorkflowIds.map((id) =>
      temporal.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => {}),
    ),
  );
  await temporal.connection.close();
  await db.end();
});

describe('the terminal relay', () => {
  it('relays a new event at once while many earlier ones keep timing out, and keeps trying those', async () => {
    const stuck = await insertOrders(
      db,
      Array.from({ length: STUCK }, () => ({ instrument: 'US0378331005', quantity: 1, status: 'partially_filled' })),
    );
    // Their workflows run on a task queue no worker polls; their signals are held past the deadline.
    const deaf = `relay-deaf-${randomUUID()}`;
    for (const id of stuck) {
      const workflowId = workflowIdFor(id);
      await temporal.workflow.start('placeOrderWorkflow', { taskQueue: deaf, workflowId, args: [{ id }] });
      stuckWorkflowIds.push(workflowId);
      slowWorkflowIds.add(workflowId);
      await outboxRow(id);
    }
    metrics = createIngestMetrics();
    relay = startRelay({
      pool: db,
      temporal: relayClient,
      logger: createLogger('relay-test', 'silent'),
      metrics,
      intervalMs: 50,
      concurrency: CONCURRENCY,
      timeoutMs: TIMEOUT_MS,
      retryMs: 50,
    });
    await waitFor(async () => ((await relayed('failed')) >= STUCK ? true : undefined), 120_000, 'every stuck event to fail once');

    // An order without a workflow: its event is relayed (marked, nothing to deliver) on its first try.
    const [fresh] = await insertOrders(db, [{ instrument: 'US0378331005', quantity: 1, status: 'filled' }]);
    const failedBefore = await relayed('failed');
    const startedAt = Date.now();
    await outboxRow(fresh!);
    relay.notify();
    await waitFor(
      async () => {
        const { rows } = await db.query('SELECT relayed_at FROM order_terminal_outbox WHERE order_id = $1::uuid', [fresh]);
        return rows[0]?.relayed_at ? true : undefined;
      },
      60_000,
      'the new event relayed',
    );
    const waitedMs = Date.now() - startedAt;
    // Behind the stuck events' tries it would wait STUCK / CONCURRENCY deadlines (18 s); in a lane
    // of its own, no deadline at all. Two deadlines leave a busy machine room.
    expect(waitedMs).toBeLessThan(2 * TIMEOUT_MS);
    expect(await relayed('no_workflow')).toBe(1);

    // An order whose workflow runs, with no worker to run it: the signal is in its history all the
    // same, the row marked relayed, on the first try.
    const [running] = await insertOrders(db, [{ instrument: 'US0378331005', quantity: 2, status: 'filled' }]);
    const runningId = workflowIdFor(running!);
    await temporal.workflow.start('placeOrderWorkflow', { taskQueue: deaf, workflowId: runningId, args: [{ id: running }] });
    stuckWorkflowIds.push(runningId);
    const deliveredBefore = await relayed('delivered');
    await outboxRow(running!);
    relay.notify();
    await waitFor(
      async () => {
        const { rows } = await db.query('SELECT relayed_at FROM order_terminal_outbox WHERE order_id = $1::uuid', [running]);
        return rows[0]?.relayed_at ? true : undefined;
      },
      60_000,
      'the event of the running workflow relayed',
    );
    expect(await relayed('delivered')).toBe(deliveredBefore + 1);
    const signals = ((await temporal.workflow.getHandle(runningId).fetchHistory()).events ?? [])
      .map((event) => event.workflowExecutionSignaledEventAttributes)
      .filter((signalled) => signalled !== undefined && signalled !== null);
    expect(signals.map((signalled) => signalled.signalName)).toEqual([orderTerminalSignal.name]);
    const payload = signals[0]?.input?.payloads?.[0]?.data;
    expect(JSON.parse(Buffer.from(payload ?? []).toString('utf8'))).toEqual({ status: 'filled', filledQuantity: 1 });

    // The stuck ones are still tried, and still not marked.
    await waitFor(async () => ((await relayed('failed')) > failedBefore ? true : undefined), 60_000, 'the stuck events tried again');
    const { rows } = await db.query('SELECT count(*)::int AS n FROM order_terminal_outbox WHERE relayed_at IS NULL');
    expect(rows[0].n).toBe(STUCK);
  }, 240_000);
});
