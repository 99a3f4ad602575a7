import { log } from '@temporalio/activity';
import type { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';

export const STALE_ORDER_REASON = 'Its request ended without confirming it; rejected by the stale-order sweep';

export type SweepActivities = ReturnType<typeof createSweepActivities>;

export function createSweepActivities({ orders, keys }: { orders: OrdersRepository; keys: IdempotencyRepository }) {
  return {
    /** Rejects orders left `pending` by requests that died; their workflows, if any, then stop. */
    async rejectStaleOrders(olderThanMs: number): Promise<string[]> {
      const rejected = await orders.rejectStale(olderThanMs, STALE_ORDER_REASON);
      if (rejected.length > 0) log.warn('rejected stale orders', { count: rejected.length, orderIds: rejected });
      return rejected;
    },

    async deleteExpiredIdempotencyKeys(): Promise<number> {
      return keys.deleteExpired();
    },
  };
}
