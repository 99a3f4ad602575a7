import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toTicket, workflowIdFor } from '../../domain/order.js';
import { orderTerminalSignal } from '../../temporal/messages.js';
import { registerSearchAttributes } from '../../temporal/search-attribute-registration.js';
import { WORKFLOWS_PATH } from '../../workflows/path.js';
import { testConfig } from '../support/config.js';
import { storedOrder } from '../support/orders.js';
import { replayWorkflows } from '../support/replay-check.js';
import { createNamespace, placedAtOnce } from '../support/temporal-namespace.js';
import { waitFor } from '../support/wait.js';

// The suite's closing replay check (test/support/replay-check.ts, run by global-setup.ts before
// the servers stop) must tell a history that does not replay on this code from one that does. Two
// order workflows run in a namespace of this file's own (so the suite's check does not see the
// broken one): one by the real workflow code, one by a deliberately different workflow of the same
// type (test/fixtures/nondeterministic-workflow.ts), each on a real worker with fake activities.
const config = testConfig();
const NONDETERMINISTIC_WORKFLOWS = new URL('../fixtures/nondeterministic-workflow.ts', import.meta.url).pathname;
let connection: Connection;
let namespace: string;

beforeAll(async () => {
  connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  namespace = await createNamespace(connection, 'replay-check');
  // The workflow upserts the order's attributes: the namespace must know them.
  await registerSearchAttributes(connection, namespace);
});
afterAll(async () => {
  await connection?.close();
});

/** Runs one order's workflow to its end on a worker of `workflowsPath`; its workflow id. */
async function runOne(workflowsPath: string, signalTerminal: boolean): Promise<string> {
  const client = new Client({ connection, namespace });
  const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const taskQueue = `replay-check-${Math.random().toString(36).slice(2, 10)}`;
  try {
    const worker = await Worker.create({ connection: nativeConnection, namespace, taskQueue, workflowsPath, activities: placedAtOnce });
    const order = toTicket(storedOrder({ timeInForce: 'gtc' }));
    const workflowId = workflowIdFor(order.id);
    await worker.runUntil(async () => {
      // The namespace may not be known everywhere in the server yet: the start is tried again.
      const handle = await waitFor(
        () => client.workflow.start('placeOrderWorkflow', { taskQueue, workflowId, args: [order] }).catch(() => undefined),
        30_000,
        'the start in the new namespace',
      );
      if (signalTerminal) {
        await waitFor(
          async () => ((await handle.query<string>('orderStatus').catch(() => undefined)) === 'placed' ? true : undefined),
          30_000,
          'the order placed',
        );
        await handle.signal(orderTerminalSignal, { status: 'filled', filledQuantity: 1 });
      }
      await handle.result();
    });
    return workflowId;
  } finally {
    await nativeConnection.close();
  }
}

describe('the replay check of the suite', () => {
  it('reports the order workflow whose history does not replay on this code, and only that one', { timeout: 120_000 }, async () => {
    const startedSince = new Date(Date.now() - 60_000);
    const good = await runOne(WORKFLOWS_PATH, true);
    const broken = await runOne(NONDETERMINISTIC_WORKFLOWS, false);

    // Visibility follows the histories by a moment.
    const check = await waitFor(
      async () => {
        const result = await replayWorkflows({ address: config.TEMPORAL_ADDRESS, namespace, startedSince });
        return result.replayed === 2 ? result : undefined;
      },
      30_000,
      'both workflows listed',
    );
    expect(check.problems.map((p) => p.workflowId)).toEqual([broken]);
    expect(check.problems[0]?.problem).toMatch(/^on replay: .*(nondetermin|TMPRL1100)/i);
    expect(check.problems[0]?.events[0]).toBe('1 workflowExecutionStarted');
    expect(check.problems.map((p) => p.workflowId)).not.toContain(good);
  });
});
