import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { workflowIdFor } from '../../domain/order.js';
import { orderTerminalSignal } from '../../temporal/messages.js';

/**
 * Stand-ins for orders' workflows, to count the terminal signals the ingest's relay sends them:
 * a workflow started under each order's workflow id on a task queue no worker polls (a type of
 * its own, which the suite's replay check leaves out). A signal is in its history once
 * Temporal accepts it, whether a worker runs the workflow or not.
 */
export interface SignalProbes {
  /** The payloads of the terminal signals the order's workflow got, in order. */
  terminalSignals(orderId: string): Promise<unknown[]>;
  close(): Promise<void>;
}

export async function startSignalProbes(orderIds: readonly string[]): Promise<SignalProbes> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const taskQueue = `ingest-chaos-deaf-${randomUUID()}`;
  for (const id of orderIds) {
    // Bounded, in case the test dies before it terminates them.
    await client.workflow.start('ingestChaosSignalProbe', { taskQueue, workflowId: workflowIdFor(id), workflowExecutionTimeout: '15m' });
  }
  return {
    async terminalSignals(orderId) {
      const history = await client.workflow.getHandle(workflowIdFor(orderId)).fetchHistory();
      return (history.events ?? [])
        .map((event) => event.workflowExecutionSignaledEventAttributes)
        .filter((signalled) => signalled?.signalName === orderTerminalSignal.name)
        .map((signalled) => JSON.parse(Buffer.from(signalled?.input?.payloads?.[0]?.data ?? []).toString('utf8')) as unknown);
    },
    async close() {
      for (const id of orderIds) {
        await client.workflow
          .getHandle(workflowIdFor(id))
          .terminate('test over')
          .catch(() => {});
      }
      await connection.close();
    },
  };
}
