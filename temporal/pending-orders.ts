import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { type OrderStatus, workflowIdFor } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';

/** Whether an order's workflow was ever started, and whether it still runs. */
export type WorkflowState = 'running' | 'closed' | 'absent';
export type OrderWorkflowProbe = (orderId: string) => Promise<WorkflowState>;

/** Asks Temporal for the order's workflow; each call bounded by `timeoutMs`. */
export function createOrderWorkflowProbe(client: Client, timeoutMs: number): OrderWorkflowProbe {
  return async (orderId) => {
    try {
      const description = await client.withDeadline(Date.now() + timeoutMs, () =>
        client.workflow.getHandle(workflowIdFor(orderId)).describe(),
      );
      return description.status.name === 'RUNNING' ? 'running' : 'closed';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return 'absent';
      throw error;
    }
  };
}

/**
 * Decides an order left `pending` by a request that ended without deciding it. A `pending` order
 * whose workflow runs was (or may have been) answered 201: its workflow will claim it, so it is
 * only recorded as accepted. One whose workflow never started, or ended without claiming it, is
 * rejected, which fences a start still in flight too: a workflow can only claim a pending order.
 * Returns the status after.
 */
export async function decidePendingOrder(
  deps: { orders: Pick<OrdersRepository, 'accept' | 'rejectIfPending'>; probe: OrderWorkflowProbe },
  orderId: string,
  reason: string,
): Promise<OrderStatus | null> {
  if ((await deps.probe(orderId)) === 'running') return deps.orders.accept(orderId);
  return deps.orders.rejectIfPending(orderId, reason);
}
