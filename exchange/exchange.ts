import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderTicket } from '../domain/order.js';
import { DuplicateOrderError, MissingOrderError, OrderCancelledAtExchangeError, OrderPlacementError } from './errors.js';
import type { ExchangeLedger } from './exchange-ledger.js';

export { DuplicateOrderError, MissingOrderError, OrderCancelledAtExchangeError, OrderPlacementError };

export interface Exchange {
  placeOrder(order: OrderTicket | undefined): Promise<void>;
  /** Cancels the order id at the exchange, unless the exchange accepted it already. */
  cancelOrder(orderId: string): Promise<'cancelled' | 'already_placed'>;
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
      if (!options.ledger) return;
      const outcome = await options.ledger.accept(order);
      if (outcome === 'duplicate') throw new DuplicateOrderError(order.id);
      if (outcome === 'cancelled') throw new OrderCancelledAtExchangeError(order.id);
      accepts += 1;
      if (accepts === options.crashAfterAccepts) process.kill(process.pid, 'SIGKILL');
    },
    async cancelOrder(orderId) {
      // Without a ledger nothing was ever recorded as accepted, so nothing can have been placed.
      return options.ledger ? options.ledger.cancel(orderId) : 'cancelled';
    },
  };
}
