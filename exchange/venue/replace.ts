import { priceText, priceUnits } from '../../domain/decimal.js';
import { hasLimitPrice, isStopType, type TimeInForce } from '../../domain/order.js';
import type { ExecutionReport, ReplaceRefusal } from '../protocol.js';
import type { OrderRecord } from './log-lines.js';
import type { WorkingOrder } from './orders.js';

/** What a replace asks to change (each field optional; at least one differs, or nothing is reported). */
export interface ReplaceChanges {
  quantity?: number | undefined;
  limitPrice?: string | undefined;
  stopPrice?: string | undefined;
  timeInForce?: TimeInForce | undefined;
}

/**
 * What a replace (Book.replace) makes of a working order: the order as amended and when the venue
 * expires it now (`dayExpiryNow`: a day order's expiry if made `day` now), `unchanged`, or why not.
 */
export function replacement(
  order: WorkingOrder,
  changes: ReplaceChanges,
  dayExpiryNow: () => string | null,
): { order: OrderRecord['order']; expiresAt: string | null } | 'unchanged' | Exclude<ReplaceRefusal, 'unknown_order' | 'not_working'> {
  const current = order.record.order;
  if (changes.limitPrice !== undefined && !hasLimitPrice(current.type)) return 'limit_price_not_for_market';
  if (changes.stopPrice !== undefined && !isStopType(current.type)) return 'stop_price_not_for_type';
  if (changes.stopPrice !== undefined && order.triggered === true) return 'already_triggered';
  if (changes.quantity !== undefined && changes.quantity <= order.cumQty) return 'quantity_not_above_filled';
  const limitPrice = changes.limitPrice === undefined ? current.limit_price : priceText(priceUnits(changes.limitPrice));
  const stopPrice = changes.stopPrice === undefined ? (current.stop_price ?? null) : priceText(priceUnits(changes.stopPrice));
  const next = {
    ...current,
    quantity: changes.quantity ?? current.quantity,
    limit_price: limitPrice,
    time_in_force: changes.timeInForce ?? current.time_in_force,
    ...(stopPrice !== null && { stop_price: stopPrice }),
  };
  const samePrice = (a: string | null, b: string | null) => (a === null ? b === null : b !== null && priceUnits(a) === priceUnits(b));
  if (
    next.quantity === current.quantity &&
    samePrice(next.limit_price, current.limit_price) &&
    samePrice(next.stop_price ?? null, current.stop_price ?? null) &&
    next.time_in_force === current.time_in_force
  )
    return 'unchanged';
  let expiresAt = order.expiresAt;
  if (next.time_in_force !== current.time_in_force) expiresAt = next.time_in_force === 'gtc' ? null : dayExpiryNow();
  return { order: next, expiresAt };
}

/**
 * A `replaced` report's order as amended, onto the working order (made, or read back from the
 * log at start): the order record the venue works it by, and its expiry as the report says it
 * (a report of the version before carries none: a changed time in force's, at the close after
 * the report's time).
 */
export function applyReplaced(order: WorkingOrder, report: ExecutionReport, dayExpiry?: (at: Date) => Date): void {
  const before = order.record.order;
  const timeInForce: TimeInForce = report.time_in_force ?? before.time_in_force;
  const stopPrice = report.stop_price === undefined ? before.stop_price : report.stop_price;
  const next = {
    ...before,
    quantity: report.order_qty ?? before.quantity,
    limit_price: report.limit_price === undefined ? before.limit_price : report.limit_price,
    time_in_force: timeInForce,
    ...(stopPrice !== undefined && stopPrice !== null && { stop_price: stopPrice }),
  };
  let expiresAt = order.record.expires_at;
  if (report.expires_at !== undefined) expiresAt = report.expires_at;
  else if (timeInForce !== before.time_in_force)
    expiresAt = timeInForce === 'gtc' ? null : (dayExpiry?.(new Date(report.transact_time)).toISOString() ?? null);
  order.record = { ...order.record, order: next, expires_at: expiresAt };
  order.expiresAt = expiresAt;
}
