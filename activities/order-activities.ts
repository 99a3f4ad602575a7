import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { OrderStatus, OrderTicket } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { DuplicateOrderError, type Exchange, MissingOrderError } from './exchange.js';

export interface OrderActivityDeps {
  orders: OrdersRepository;
  exchange: Exchange;
  now?: () => Date;
  /** How long one claim attempt waits for the API to accept the order before it retries. */
  claimWaitMs?: number;
}

const CLAIM_POLL_MS = 20;

export type OrderActivities = ReturnType<typeof createOrderActivities>;

export function createOrderActivities({ orders, exchange, now = () => new Date(), claimWaitMs = 5000 }: OrderActivityDeps) {
  return {
    /**
     * accepted -> placing. The workflow usually runs before the API has recorded its acceptance
     * (the API accepts only after Temporal acknowledged the start), so this waits a little for
     * it; an order still pending after claimWaitMs makes the attempt fail and be retried until
     * the API accepts it or the stale-order sweep rejects it. Returns the resulting status:
     * 'placing' (go on), 'placed' (an earlier run finished) or 'rejected' (never place it).
     */
    async claimOrder(orderId: string): Promise<OrderStatus> {
      const deadline = Date.now() + claimWaitMs;
      for (;;) {
        const status = await orders.claimForPlacement(orderId);
        if (status === null) throw ApplicationFailure.nonRetryable(`Order ${orderId} does not exist`, 'UnknownOrder');
        // 'accepted' here means the API accepted it between the claim's UPDATE and its read-back:
        // claim again at once.
        if (status === 'accepted') continue;
        if (status !== 'pending') return status;
        if (Date.now() >= deadline) throw ApplicationFailure.retryable(`Order ${orderId} is not accepted yet`, 'OrderNotYetAccepted');
        await Context.current().sleep(CLAIM_POLL_MS);
      }
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
