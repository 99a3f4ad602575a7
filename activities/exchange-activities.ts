import { ApplicationFailure, log } from '@temporalio/activity';
import type { OrderTicket } from '../domain/order.js';
import { DuplicateOrderError, NON_RETRYABLE_EXCHANGE_ERRORS } from '../exchange/errors.js';
import type { Exchange } from '../exchange/exchange.js';

export interface ExchangeActivityDeps {
  exchange: Exchange;
}

export type ExchangeActivities = ReturnType<typeof createExchangeActivities>;

/** The order workflow's calls of the exchange. */
export function createExchangeActivities({ exchange }: ExchangeActivityDeps) {
  return {
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
        if (error instanceof Error && NON_RETRYABLE_EXCHANGE_ERRORS.includes(error.name)) {
          throw ApplicationFailure.nonRetryable(error.message, error.name);
        }
        throw error; // OrderPlacementError and anything unknown: retried by the workflow's policy
      }
    },

    /** Asks the exchange to cancel the order id: the exchange decides whether it got there first. */
    async cancelAtExchange(orderId: string): Promise<'cancelled' | 'already_placed'> {
      return exchange.cancelOrder(orderId);
    },
  };
}
