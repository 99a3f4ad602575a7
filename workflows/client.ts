import { type Client, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { type OrderTicket, workflowIdFor } from '../domain/order.js';
import { cancelOrderUpdate, type FinalStatus, type placeOrderWorkflow } from './order-workflow.js';

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

export interface OrderCancellation {
  /**
   * Asks the order's workflow to cancel it; resolves with the order's final status as the
   * workflow decided it ('cancelled' if the cancel won), or null if the workflow no longer runs.
   */
  cancel(orderId: string): Promise<FinalStatus | null>;
}

/** Bounded by `timeoutMs`, which must exceed one exchange call (the workflow may wait for one). */
export function createOrderCancellation(client: Client, timeoutMs: number): OrderCancellation {
  return {
    async cancel(orderId) {
      try {
        return await client.withDeadline(Date.now() + timeoutMs, () =>
          client.workflow.getHandle(workflowIdFor(orderId)).executeUpdate(cancelOrderUpdate),
        );
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return null;
        throw error;
      }
    },
  };
}
