import { ApplicationFailure, log } from '@temporalio/activity';
import type { OrderTicket } from '../domain/order.js';
import { DuplicateOrderError, NON_RETRYABLE_EXCHANGE_ERRORS } from '../exchange/errors.js';
import type { Exchange, ReplaceAnswer, ReplaceRequest } from '../exchange/exchange.js';
import type { CancelOutcome } from '../exchange/protocol.js';

export interface ExchangeActivityDeps {
  exchange: Exchange;
}

export type ExchangeActivities = ReturnType<typeof createExchangeActivities>;

/** What placing an order returned: when a `day` order expires at the venue (ISO text). */
export interface Placement {
  expiresAt: string | null;
}

/** The venue's answer to a cancel: the order's final state there, and what was filled before. */
export interface VenueCancel {
  outcome: CancelOutcome;
  cumQty: number;
}

/** The order workflow's calls of the exchange. */
export function createExchangeActivities({ exchange }: ExchangeActivityDeps) {
  return {
    /** Places the order; resolves with when the venue expires it (a `day` order), null when it never does or is not known. */
    async placeAtExchange(ticket: OrderTicket): Promise<Placement> {
      try {
        return await exchange.placeOrder(ticket);
      } catch (error) {
        if (error instanceof DuplicateOrderError) {
          // An earlier attempt reached the exchange but its answer was lost (the worker died,
          // the call timed out): the order is placed, and must not be placed again. Its expiry
          // came with the lost answer: the order's workflow then relies on the venue's own.
          log.warn('exchange already had the order; treating it as placed', { orderId: ticket.id });
          return { expiresAt: null };
        }
        if (error instanceof Error && NON_RETRYABLE_EXCHANGE_ERRORS.includes(error.name)) {
          throw ApplicationFailure.nonRetryable(error.message, error.name);
        }
        throw error; // OrderPlacementError and anything unknown: retried by the workflow's policy
      }
    },

    /**
     * Asks the exchange to cancel (or, at the close, expire) the order id: the exchange decides,
     * and answers with the order's final state there. An id it never got is cancelled for good.
     */
    async cancelAtExchange(orderId: string, reason: 'cancel' | 'expire' = 'cancel'): Promise<VenueCancel> {
      return exchange.cancelOrder(orderId, reason);
    },

    /**
     * Asks the venue to amend the working order (cancel/replace): the venue decides against its
     * book, all the changes or none, and answers with the order there after it. A repeat (a
     * retry after a lost answer) changes nothing more.
     */
    async amendAtExchange(orderId: string, changes: ReplaceRequest): Promise<ReplaceAnswer> {
      if (!exchange.replaceOrder) {
        return {
          outcome: 'refused',
          reason: 'unknown_order',
          status: null,
          cumQty: 0,
          quantity: null,
          limitPrice: null,
          timeInForce: null,
          expiresAt: null,
        };
      }
      return exchange.replaceOrder(orderId, changes);
    },
  };
}
