import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { workflowIdFor, type OrderTicket } from '../domain/order.js';
import type { placeOrderWorkflow } from './order-workflow.js';

export interface PlacementStarter {
  /** Resolves once Temporal has durably recorded the workflow's start; rejects otherwise. */
  start(ticket: OrderTicket): Promise<{ workflowId: string }>;
}

/**
 * Starts the order's workflow. The id is derived from the order id and never reused, so however
 * often this is called for one order, at most one workflow places it. Each call is bounded by
 * `timeoutMs`: a hung or unreachable Temporal makes it fail, never hang.
 */
export function createPlacementStarter(client: Client, taskQueue: string, timeoutMs: number): PlacementStarter {
  return {
    async start(ticket) {
      const workflowId = workflowIdFor(ticket.id);
      await client.withDeadline(Date.now() + timeoutMs, () =>
        client.workflow.start<typeof placeOrderWorkflow>('placeOrderWorkflow', {
          workflowId,
          taskQueue,
          args: [ticket],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        }),
      );
      return { workflowId };
    },
  };
}
