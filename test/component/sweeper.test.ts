import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTION_REASONS } from '../../domain/order.js';
import { sweeperWorkflowId } from '../../worker/sweeper.js';
import { createOrderWorker, type OrderWorker } from '../../worker/worker.js';
import { testConfig } from '../support/config.js';
import { waitFor } from '../support/wait.js';

// The stale-order sweep as one long-running workflow per task queue: every worker starts it, one
// runs, it sweeps again and again, and it keeps sweeping while any worker is alive. It replaces a
// Temporal Schedule that started a workflow per sweep.
const config = testConfig({ SWEEP_INTERVAL_MS: '1000', STALE_ORDER_AFTER_MS: '20000' });
const SWEEPER = sweeperWorkflowId(config.TEMPORAL_TASK_QUEUE);
let temporal: Client;
let db: pg.Client;
const workers: { worker: OrderWorker; running: Promise<void> }[] = [];

beforeAll(async () => {
  temporal = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }) });
  db = new pg.Client({ connectionString: config.DATABASE_URL });
  await db.connect();
});

afterAll(async () => {
  for (const { worker, running } of workers) {
    if (worker.worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  }
  await temporal?.workflow
    .getHandle(SWEEPER)
    .terminate('test over')
    .catch(() => {});
  await temporal?.connection.close();
  await db?.end();
});

async function startWorker() {
  const worker = await createOrderWorker(config);
  const entry = { worker, running: worker.run() };
  entry.running.catch(() => {}); // awaited at clean-up, which throws its error; until then a failure must not count as an unhandled rejection
  workers.push(entry);
  return entry;
}

/** A pending order whose request died long ago without starting its workflow. */
async function staleOrder(): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO orders (type, side, instrument, quantity, status, created_at) VALUES ('market', 'buy', 'SWEEPERTEST1', 1, 'pending', now() - interval '10 minutes') RETURNING id",
  );
  return rows[0]!.id;
}

async function rejectedBySweep(id: string): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await db.query('SELECT status, rejected_reason FROM orders WHERE id = $1', [id]);
      return rows[0].status === 'rejected' ? rows[0] : undefined;
    },
    60_000,
    `order ${id} rejected by the sweep`,
  ).then((row) => expect(row.rejected_reason).toBe(REJECTION_REASONS.staleOrder));
}

async function workflowIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of temporal.workflow.list({ query })) ids.push(execution.workflowId);
  return ids;
}

describe('the stale-order sweeper', () => {
  it('runs once per task queue, sweeps repeatedly, outlives a worker, and replaces the old Schedule', { timeout: 180_000 }, async () => {
    // What an earlier version left behind: the Schedule that started a workflow per sweep.
    await temporal.schedule.create({
      scheduleId: SWEEPER,
      spec: { intervals: [{ every: '1 hour' }] },
      action: { type: 'startWorkflow', workflowType: 'sweepStaleOrdersWorkflow', taskQueue: config.TEMPORAL_TASK_QUEUE, args: [20_000] },
    });
    const first = await startWorker();
    await startWorker();
    await expect(temporal.schedule.getHandle(SWEEPER).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

    await rejectedBySweep(await staleOrder());

    // One sweeper runs although two workers started it, and it sweeps again and again.
    await waitFor(
      async () => {
        let fired = 0;
        for (const event of (await temporal.workflow.getHandle(SWEEPER).fetchHistory()).events ?? [])
          if (event.timerFiredEventAttributes) fired += 1;
        return fired >= 3 ? true : undefined;
      },
      60_000,
      'three sweeps',
    );
    const running = await waitFor(
      async () => {
        const ids = await workflowIds(`TaskQueue = '${config.TEMPORAL_TASK_QUEUE}' AND ExecutionStatus = 'Running'`);
        return ids.length > 0 ? ids : undefined;
      },
      30_000,
      'the sweeper listed',
    );
    expect(running).toEqual([SWEEPER]);
    // No workflow per sweep: nothing but the sweeper in the list of this task queue.
    expect(await workflowIds(`TaskQueue = '${config.TEMPORAL_TASK_QUEUE}'`)).toEqual([SWEEPER]);

    // With the first worker gone, the other one sweeps.
    first.worker.shutdown();
    await first.running;
    await rejectedBySweep(await staleOrder());
  });

  it('continues as new after its sweeps per run, so its history stays short', { timeout: 120_000 }, async () => {
    const workflowId = `${SWEEPER}-short`;
    if (workers.every(({ worker }) => worker.worker.getState() !== 'RUNNING')) await startWorker();
    const handle = await temporal.workflow.start('staleOrderSweeperWorkflow', {
      workflowId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [{ staleAfterMs: 20_000, intervalMs: 1000, sweepsPerRun: 2 }],
    });
    try {
      await waitFor(
        async () =>
          (await workflowIds(`WorkflowId = '${workflowId}' AND ExecutionStatus = 'ContinuedAsNew'`)).length > 0 ? true : undefined,
        60_000,
        'a run continued as new',
      );
      expect((await temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');
    } finally {
      await handle.terminate('test over').catch(() => {});
    }
  });
});
