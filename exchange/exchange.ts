import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderTicket, TimeInForce } from '../domain/order.js';
import { DuplicateOrderError, MissingOrderError, OrderCancelledAtExchangeError, OrderPlacementError } from './errors.js';
import type { ExchangeLedger } from './exchange-ledger.js';
import type { CancelOutcome, ReplaceRefusal, VenueOrderStatus } from './protocol.js';

export { DuplicateOrderError, MissingOrderError, OrderCancelledAtExchangeError, OrderPlacementError };

export interface Exchange {
  /**
   * Places the order; resolves with when the venue expires it (a `day` order; null for `gtc`).
   * Throws DuplicateOrderError when the venue accepted this id before (it is placed),
   * OrderCancelledAtExchangeError when the id was cancelled there first, OrderPlacementError /
   * MissingOrderError as the seed's place_order does.
   */
  placeOrder(order: OrderTicket | undefined): Promise<{ expiresAt: string | null }>;
  /**
   * Cancels (or, at the close, expires) the order id at the venue: the order's final state there
   * after the request, and the quantity filled before it. An id the venue never got is
   * cancelled for good (a later placement of it is refused). Idempotent.
   */
  cancelOrder(orderId: string, reason: 'cancel' | 'expire'): Promise<{ outcome: CancelOutcome; cumQty: number }>;
  /**
   * Amends the working order at the venue (cancel/replace): all the changes or none. Resolves with
   * the venue's decision and the order there after it. Idempotent: a repeat changes nothing more.
   * An exchange without it (the in-process one of unit tests) never has a working order to amend.
   */
  replaceOrder?(orderId: string, changes: ReplaceRequest): Promise<ReplaceAnswer>;
}

/** What an amend changes at the venue (at least one field). */
export interface ReplaceRequest {
  quantity?: number;
  limitPrice?: string;
  stopPrice?: string;
  timeInForce?: TimeInForce;
}

/** The venue's answer to a replace: the order there after it (nulls for an order it does not know). */
export interface ReplaceAnswer {
  outcome: 'replaced' | 'refused';
  reason: ReplaceRefusal | null;
  status: VenueOrderStatus | null;
  cumQty: number;
  quantity: number | null;
  limitPrice: string | null;
  /** Null for an order that is no stop; absent from answers recorded before stop prices were amendable. */
  stopPrice?: string | null;
  timeInForce: TimeInForce | null;
  expiresAt: string | null;
}

export interface SimulatedExchangeOptions {
  /** Share of calls that fail with OrderPlacementError (seed: 0.1; 1 = outage). */
  failureRate: number;
  /** Duration of a successful call (seed: 500 ms). */
  latencyMs: number;
  random?: () => number;
  /** Where accepted orders are recorded; without one, nothing is remembered (the seed's behaviour). */
  ledger?: ExchangeLedger;
  /**
   * Test hook: the process kills itself (SIGKILL) right after the exchange recorded its n-th
   * acceptance, before the caller hears of it: the ambiguous failure that must not lead to a
   * second placement.
   */
  crashAfterAccepts?: number;
}

/**
 * In process, for unit tests with fakes; the worker uses the venue process (exchange/venue-client.ts).
 * The TypeScript counterpart of the seed's `place_order`: fails before doing any work when a
 * uniform draw lands in the top `failureRate` of [0, 1), otherwise takes `latencyMs`. It waits
 * on a timer, so the event loop stays free while the "expensive operation" runs.
 */
export function createSimulatedExchange(options: SimulatedExchangeOptions): Exchange {
  const random = options.random ?? Math.random;
  let accepts = 0;
  return {
    async placeOrder(order) {
      if (!order) throw new MissingOrderError();
      if (random() >= 1 - options.failureRate) throw new OrderPlacementError();
      await sleep(options.latencyMs);
      // It works no order, so nothing ever expires here.
      if (!options.ledger) return { expiresAt: null };
      const outcome = await options.ledger.accept(order);
      if (outcome === 'duplicate') throw new DuplicateOrderError(order.id);
      if (outcome === 'cancelled') throw new OrderCancelledAtExchangeError(order.id);
      accepts += 1;
      if (accepts === options.crashAfterAccepts) process.kill(process.pid, 'SIGKILL');
      return { expiresAt: null };
    },
    async cancelOrder(orderId) {
      // Without a ledger nothing was ever recorded as accepted, so nothing can have been placed.
      // An accepted order is never worked here: it stays open, so a cancel of it wins with nothing filled.
      if (options.ledger) await options.ledger.cancel(orderId);
      return { outcome: 'cancelled', cumQty: 0 };
    },
    async replaceOrder() {
      // It works no order: none is ever working here to amend.
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
    },
  };
}
