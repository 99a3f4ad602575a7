import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../config/logger.js';
import { workflowIdFor } from '../domain/order.js';
import { createIngestMetrics, type IngestMetrics } from '../ingest/metrics.js';
import { type Relay, startRelay } from '../ingest/relay.js';
import { createDatabase, insertOrders } from './support/ingest-stack.js';
import { waitFor } from './support/wait.js';

// The terminal relay (ingest/relay.ts) in-process, against the suite's Temporal and a database of
// this file's own (the suite's ingestion process relays the shared one): events whose workflows
// never answer (their task queue has no worker) are tried again and again, each waiting out its
// deadline, and must not hold up the events that come after them.
const UPDATE_TIMEOUT_MS = 3000;
const CONCURRENCY = 4;
// Six times the slots: in one lane, a new event would queue behind them for 18 s or more.
const STUCK = 6 * CONCURRENCY;

let db: pg.Pool;
let temporal: Client;
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
    // Their workflows run on a task queue no worker polls: an Update to them waits out its deadline.
    const deaf = `relay-deaf-${randomUUID()}`;
    for (const id of stuck) {
      const workflowId = workflowIdFor(id);
      await temporal.workflow.start('placeOrderWorkflow', { taskQueue: deaf, workflowId, args: [{ id }] });
      stuckWorkflowIds.push(workflowId);
      await outboxRow(id);
    }
    metrics = createIngestMetrics();
    relay = startRelay({
      pool: db,
      temporal,
      logger: createLogger('relay-test', 'silent'),
      metrics,
      intervalMs: 50,
      concurrency: CONCURRENCY,
      updateTimeoutMs: UPDATE_TIMEOUT_MS,
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
    expect(waitedMs).toBeLessThan(2 * UPDATE_TIMEOUT_MS);
    expect(await relayed('no_workflow')).toBe(1);

    // The stuck ones are still tried, and still not marked.
    await waitFor(async () => ((await relayed('failed')) > failedBefore ? true : undefined), 60_000, 'the stuck events tried again');
    const { rows } = await db.query('SELECT count(*)::int AS n FROM order_terminal_outbox WHERE relayed_at IS NULL');
    expect(rows[0].n).toBe(STUCK);
  }, 240_000);
});
