import { ApplicationFailure } from '@temporalio/activity';
import { CLAIMABLE_STATUSES, type OrderStatus, TRANSITIONS } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';

export interface OrderStoreActivityDeps {
  orders: Pick<OrdersRepository, 'claimForPlacement' | 'markPlaced' | 'markCancelled'>;
  now?: () => Date;
}

// What an order may become from `placed` (its reports may be applied before the workflow records it).
const STATUSES_AFTER_PLACED: readonly OrderStatus[] = TRANSITIONS.filter((transition) => transition.from === 'placed').map(
  (transition) => transition.to,
);

export type OrderStoreActivities = ReturnType<typeof createOrderStoreActivities>;

/** The order workflow's steps in the order store (PostgreSQL), each one conditional UPDATE. */
export function createOrderStoreActivities({ orders, now = () => new Date() }: OrderStoreActivityDeps) {
  return {
    /**
     * pending | accepted -> placing, one conditional UPDATE. It races the API's rejection of an
     * order whose start the API could not confirm: if the rejection ran first, the order is
     * 'rejected' and must never be placed. Returns the resulting status: 'placing' (go on; also
     * what a retry finds after an attempt whose answer was lost), 'placed' or 'cancelled' (an
     * earlier run finished) or 'rejected'.
     */
    async claimOrder(orderId: string): Promise<OrderStatus> {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const status = await orders.claimForPlacement(orderId);
        if (status === null) throw ApplicationFailure.nonRetryable(`Order ${orderId} does not exist`, 'UnknownOrder');
        // Still claimable: the API recorded 'accepted' between the claim's UPDATE and its read-back.
        if (!CLAIMABLE_STATUSES.includes(status)) return status;
      }
      throw ApplicationFailure.retryable(`Order ${orderId} could not be claimed`, 'ClaimContended');
    },

    async markOrderCancelled(orderId: string): Promise<void> {
      const status = await orders.markCancelled(orderId);
      if (status !== 'cancelled') {
        throw ApplicationFailure.nonRetryable(`Order ${orderId} is ${status ?? 'missing'}, cannot mark it cancelled`, 'InvalidTransition');
      }
    },

    /**
     * placing -> placed. `createdAt` is the order's creation time from the workflow's input: the
     * worker's placement-lag metric reads it from the call (worker/activity-interceptors.ts), not from the database.
     */
    async markOrderPlaced(orderId: string, _createdAt?: string, expiresAt?: string | null): Promise<void> {
      const status = await orders.markPlaced(orderId, now(), expiresAt ? new Date(expiresAt) : null);
      // Later than placed: the venue's reports (the ingestion process) got there first.
      if (status === null || !(status === 'placed' || STATUSES_AFTER_PLACED.includes(status))) {
        throw ApplicationFailure.nonRetryable(`Order ${orderId} is ${status ?? 'missing'}, cannot mark it placed`, 'InvalidTransition');
      }
    },
  };
}
