import { log } from '@temporalio/activity';
import { REJECTION_REASONS } from '../domain/order.js';
import type { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { decidePendingOrder, type OrderWorkflowProbe } from '../temporal/pending-orders.js';

// One sweep decides at most this many orders; the next sweep takes the rest.
const SWEEP_BATCH = 500;

export type SweepActivities = ReturnType<typeof createSweepActivities>;

export function createSweepActivities({
  orders,
  keys,
  probe,
}: {
  orders: OrdersRepository;
  keys: IdempotencyRepository;
  probe: OrderWorkflowProbe;
}) {
  return {
    /**
     * Decides orders left `pending` by requests that died: rejected when their workflow never
     * started (or ended without claiming them), recorded as accepted when it runs. Returns the
     * ids of the rejected ones.
     */
    async rejectStaleOrders(olderThanMs: number): Promise<string[]> {
      const rejected: string[] = [];
      for (const id of await orders.stalePending(olderThanMs, SWEEP_BATCH)) {
        if ((await decidePendingOrder({ orders, probe }, id, REJECTION_REASONS.staleOrder)) === 'rejected') rejected.push(id);
      }
      if (rejected.length > 0) log.warn('rejected stale orders', { count: rejected.length, orderIds: rejected });
      return rejected;
    },

    async deleteExpiredIdempotencyKeys(): Promise<number> {
      return keys.deleteExpired();
    },
  };
}
