import { setTimeout as sleep } from 'node:timers/promises';
import { MissingOrderError, OrderPlacementError } from '../errors.js';
import type { ExchangeLedger } from '../exchange-ledger.js';
import type { CancelOrderResult, ErrorMessage, NewOrderResult, ReplaceOrderMessage, ReplaceOrderResult, VenueOrder } from '../protocol.js';
import type { Book } from './book.js';
import { isWorking } from './orders.js';
import type { Simulation } from './simulation.js';

export interface EntryOptions {
  failureRate: number;
  latencyMs: number;
  /**
   * A test and bench hook: the first new_order of each order id fails as a random failure does,
   * later ones are worked (subject to failureRate), so that every order costs one retry.
   */
  firstAttemptFails?: boolean;
}

/** How many order ids the venue remembers having failed once on purpose (firstAttemptFails). */
export const FAILED_ONCE_LIMIT = 100_000;

/**
 * The ids whose first new_order was failed on purpose. Bounded: past `limit` ids the oldest is
 * forgotten (a Set keeps insertion order), so a long bench never grows the venue's memory; an id
 * forgotten that way would fail once more, a second retry, harmless for a hook.
 */
function failedOnceIds(limit: number) {
  const ids = new Set<string>();
  return {
    /** True the first time an id is asked about (and from then on remembered), false later. */
    isFirst(id: string): boolean {
      if (ids.has(id)) return false;
      if (ids.size >= limit) {
        const oldest = ids.values().next();
        if (!oldest.done) ids.delete(oldest.value);
      }
      ids.add(id);
      return true;
    },
  };
}

export interface OrderEntryDeps {
  book: Book;
  ledger: ExchangeLedger;
  simulation: Simulation;
  random: () => number;
  /** When a day order accepted at `acceptedAt` expires. */
  dayExpiry: (acceptedAt: Date) => Date;
  /** How many ids failed once to remember (FAILED_ONCE_LIMIT unless a test needs fewer). */
  failedOnceLimit?: number;
}

/** Runs calls for the same key one after another (a new_order and a cancel of one id never interleave). */
function keyedSerial() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, run: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const next = previous.then(run, run);
    const tail = next.catch(() => {});
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return next;
  };
}

/**
 * new_order and cancel_order (docs/executions.md, "Order entry"), with the seed's place_order
 * contract: a share of placements fails at once, before any work, with the task's message;
 * the others answer after the latency. The PostgreSQL ledger decides accepted / duplicate /
 * refused, keyed by the order id; the book then works an accepted order.
 */
export function createOrderEntry(deps: OrderEntryDeps) {
  const serial = keyedSerial();
  const failedOnce = failedOnceIds(deps.failedOnceLimit ?? FAILED_ONCE_LIMIT);

  const expiresAt = (order: VenueOrder, acceptedAt: Date) =>
    order.time_in_force === 'gtc' ? null : deps.dayExpiry(acceptedAt).toISOString();

  return {
    async newOrder(reqId: string, order: VenueOrder | undefined, options: EntryOptions): Promise<NewOrderResult | ErrorMessage> {
      if (!order) return { type: 'error', req_id: reqId, error: 'MissingOrderError', message: new MissingOrderError().message };
      const failsOnPurpose = options.firstAttemptFails === true && failedOnce.isFirst(order.id);
      if (failsOnPurpose || deps.random() >= 1 - options.failureRate) {
        return { type: 'error', req_id: reqId, error: 'OrderPlacementError', message: new OrderPlacementError().message };
      }
      await sleep(options.latencyMs);
      return serial(order.id, async () => {
        const outcome = await deps.ledger.accept(order);
        const known = deps.book.get(order.id);
        // A duplicate the book lacks: accepted by a call whose ledger answer was lost (the venue
        // answered an error); it is worked now.
        if (outcome !== 'cancelled' && !known) {
          const acceptedAt = new Date();
          deps.book.accept({ order, accepted_at: acceptedAt.toISOString(), expires_at: expiresAt(order, acceptedAt) });
          const accepted = deps.book.get(order.id);
          if (accepted && isWorking(accepted)) deps.simulation.work(accepted);
        }
        const expires = deps.book.get(order.id)?.expiresAt ?? null;
        return {
          type: 'new_order_result',
          req_id: reqId,
          order_id: order.id,
          result: outcome === 'cancelled' ? 'refused' : outcome,
          expires_at: outcome === 'cancelled' ? null : expires,
        } satisfies NewOrderResult;
      });
    },

    async cancelOrder(reqId: string, orderId: string, reason: 'cancel' | 'expire'): Promise<CancelOrderResult> {
      return serial(orderId, async () => {
        const outcome = await deps.ledger.cancel(orderId);
        const order = deps.book.get(orderId);
        if (outcome === 'cancelled' || !order) {
          // Never accepted here: recorded as cancelled, a later new_order of the id is refused.
          return { type: 'cancel_order_result', req_id: reqId, order_id: orderId, outcome: 'cancelled', cum_qty: 0 };
        }
        if (isWorking(order)) deps.book.end(orderId, reason === 'expire' ? 'expired' : 'cancelled');
        const status = order.status;
        return {
          type: 'cancel_order_result',
          req_id: reqId,
          order_id: orderId,
          outcome: status === 'filled' || status === 'cancelled' || status === 'expired' ? status : 'rejected',
          cum_qty: order.cumQty,
        };
      });
    },

    /**
     * replace_order: amends a working order against the book (Book.replace decides, atomically:
     * this runs between the order's other events, never during one). Its answer is the order at
     * the venue after the request, replaced or not; a change of limit or time in force is worked
     * from now on (a limit that became marketable fills, a `day` order expires at its close, a
     * held stop whose new stop price the instrument's price already reaches triggers at once).
     */
    async replaceOrder(request: ReplaceOrderMessage, options?: EntryOptions): Promise<ReplaceOrderResult> {
      // The connection's latency, as a placement's (a test's slow venue).
      if (options) await sleep(options.latencyMs);
      return serial(request.order_id, async () => {
        const outcome = deps.book.replace(request.order_id, {
          quantity: request.quantity,
          limitPrice: request.limit_price,
          stopPrice: request.stop_price,
          timeInForce: request.time_in_force,
        });
        const order = deps.book.get(request.order_id);
        // The order as amended, before the simulation works it: a replace that made it marketable
        // (or reached a held stop's new stop price) may fill it at once, and the answer still says
        // it was replaced, with what.
        const amended = order && isWorking(order) && typeof outcome === 'object' ? order.record.order : undefined;
        if (order && isWorking(order) && typeof outcome === 'object') deps.simulation.work(order);
        const now = deps.book.get(request.order_id);
        const record = now && isWorking(now) ? now.record.order : amended;
        return {
          type: 'replace_order_result',
          req_id: request.req_id,
          order_id: request.order_id,
          outcome: typeof outcome === 'string' && outcome !== 'unchanged' ? 'refused' : 'replaced',
          reason: typeof outcome === 'string' && outcome !== 'unchanged' ? outcome : null,
          order_status: now?.status ?? null,
          cum_qty: now?.cumQty ?? 0,
          quantity: record?.quantity ?? null,
          limit_price: record?.limit_price ?? null,
          stop_price: record?.stop_price ?? null,
          time_in_force: record?.time_in_force ?? null,
          expires_at: now?.expiresAt ?? null,
        };
      });
    },
  };
}

export type OrderEntry = ReturnType<typeof createOrderEntry>;

/** When a day order expires: `ttlMs` after acceptance when set, otherwise at the next `close` (HH:MM UTC). */
export function dayExpiry(ttlMs: number | undefined, close: string): (acceptedAt: Date) => Date {
  const [hours, minutes] = close.split(':').map(Number) as [number, number];
  return (acceptedAt) => {
    if (ttlMs !== undefined) return new Date(acceptedAt.getTime() + ttlMs);
    const at = new Date(acceptedAt);
    at.setUTCHours(hours, minutes, 0, 0);
    if (at.getTime() <= acceptedAt.getTime()) at.setUTCDate(at.getUTCDate() + 1);
    return at;
  };
}
