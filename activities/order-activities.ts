import { ApplicationFailure, log } from '@temporalio/activity';
import { CLAIMABLE_STATUSES, type OrderStatus, type OrderTicket } from '../domain/order.js';
import { DuplicateOrderError, type Exchange, MissingOrderError } from '../exchange/exchange.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';

export interface OrderActivityDeps {
  orders: Pick<OrdersRepository, 'claimForPlacement' | 'markPlaced' | 'markCancelled'>;
  exchange: Exchange;
  now?: () => Date;
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;

export function createOrderActivities({ orders, exchange, now = () => new Date() }: OrderActivityDeps) {
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

    async placeAtExchange(ticket: OrderTicket): Promise<void> {
      try {
        await exchange.placeOrder(ticket);
      } catch (error) {
        if (error instanceof DuplicateOrderError) {
          // An earlier attempt reached the exchange but its answer was lost (the worker died,
          // the call timed out): the order is placed, and must not be placed again.
          log.warn('exchange already had the order; treating it as placed', { orderId: ticket.id });
          return;
        }
        if (error instanceof MissingOrderError) {
          throw ApplicationFailure.nonRetryable(error.message, error.name);
        }
        throw error; // OrderPlacementError and anything unknown: retried by the workflow's policy
      }
    },

    /** Asks the exchange to cancel the order id: the exchange decides whether it got there first. */
    async cancelAtExchange(orderId: string): Promise<'cancelled' | 'already_placed'> {
      return exchange.cancelOrder(orderId);
    },

    async markOrderCancelled(orderId: string): Promise<void> {
      const status = await orders.markCancelled(orderId);
      if (status !== 'cancelled') {
        throw ApplicationFailure.nonRetryable(`Order ${orderId} is ${status ?? 'missing'}, cannot mark it cancelled`, 'InvalidTransition');
      }
    },

    async markOrderPlaced(orderId: string): Promise<void> {
      const status = await orders.markPlaced(orderId, now());
      if (status !== 'placed') {
        throw ApplicationFailure.nonRetryable(`Order ${orderId} is ${status ?? 'missing'}, cannot mark it placed`, 'InvalidTransition');
      }
    },
  };
}
