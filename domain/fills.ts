import { notionalUnits, priceUnits } from './decimal.js';
import { type FinalStatus, isAllowedTransition, isFinal, type OrderStatus, type TimeInForce } from './order.js';

/**
 * How one execution report of the venue changes an order (docs/executions.md, "Ingestion"):
 * pure, so the ingestion process folds a batch's reports onto its orders in sequence order and
 * writes only the outcome. Quantities are shares, notionals exact price units (domain/decimal.ts).
 */

/** The part of an order its reports change, plus what a report is checked against. */
export interface OrderAggregate {
  id: string;
  status: OrderStatus;
  /**
   * As the venue's `replaced` reports amend them: quantity, limit and stop price (exact text, 2
   * decimals), time in force, and when the venue expires it (ISO text, null: not before it ends).
   */
  quantity: number;
  limitPrice: string | null;
  stopPrice: string | null;
  timeInForce: TimeInForce;
  expiresAt: string | null;
  filledQuantity: number;
  /** Σ qty × px of the fills that stand, in price units. */
  filledNotional: bigint;
  placedAt: string | null;
  filledAt: string | null;
  cancelledAt: string | null;
  expiredAt: string | null;
  rejectedAt: string | null;
  rejectedReason: string | null;
}

/** The fields of a report the fold reads (the wire's execution_report). */
export interface ReportFields {
  exec_id: string;
  exec_type: 'new' | 'triggered' | 'partial_fill' | 'fill' | 'cancelled' | 'expired' | 'rejected' | 'trade_bust' | 'replaced';
  last_qty: number;
  last_px: string | null;
  cum_qty: number;
  transact_time: string;
  ref_exec_id: string | null;
  text: string | null;
  /** A `replaced` report's order as amended (stop_price and expires_at: absent from reports of the version before). */
  order_qty?: number | undefined;
  limit_price?: string | null | undefined;
  stop_price?: string | null | undefined;
  time_in_force?: TimeInForce | undefined;
  expires_at?: string | null | undefined;
}

/** A fill of the order already applied (stored, or earlier in the batch), for busts. */
export interface KnownFill {
  qty: number;
  px: string;
  busted: boolean;
}

export const REJECT_REASONS = {
  unknownOrder: 'unknown_order',
  malformed: 'malformed',
  beyondQuantity: 'fill_beyond_quantity',
  bustUnknownFill: 'bust_of_unknown_fill',
  bustRepeated: 'bust_of_busted_fill',
  cumMismatch: 'cum_qty_mismatch',
} as const;
export type RejectReason = (typeof REJECT_REASONS)[keyof typeof REJECT_REASONS];

export type FoldResult =
  | {
      kind: 'applied';
      order: OrderAggregate;
      /** The filled quantity changed (a fill or a bust): one `fill` event on the order's stream. */
      fillEvent: boolean;
      /** A stop order's price was reached (a `triggered` report): one `triggered` event on the order's stream, no change. */
      triggered: boolean;
      /** The order's status after the report, when it changed. */
      statusChange: OrderStatus | null;
      /** The terminal status this report gave the order, if it did. */
      terminal: FinalStatus | null;
      /** What a `replaced` report amended (the order's fields before → after), null for any other report. */
      amended: string | null;
      /** The venue's cum_qty disagrees with the fills applied (the report is applied all the same). */
      cumMismatch: boolean;
    }
  | { kind: 'rejected'; reason: RejectReason; detail: string };

const FILL_TYPES: readonly ReportFields['exec_type'][] = ['partial_fill', 'fill'];

/**
 * Applies one report to the order (the order object is not changed; `fills` is: a new fill is
 * added, a busted one marked). The status follows domain/order.ts TRANSITIONS (actor ingest):
 * a terminal status never changes again, but the quantities still follow every report applied.
 */
export function applyReport(order: OrderAggregate, report: ReportFields, fills: Map<string, KnownFill>): FoldResult {
  const next: OrderAggregate = { ...order };
  let fillEvent = false;
  let wanted: OrderStatus = order.status;
  let amended: string | null = null;

  if (FILL_TYPES.includes(report.exec_type)) {
    if (report.last_qty < 1 || report.last_px === null) {
      return { kind: 'rejected', reason: REJECT_REASONS.malformed, detail: 'a fill without a quantity or price' };
    }
    if (order.filledQuantity + report.last_qty > order.quantity) {
      return {
        kind: 'rejected',
        reason: REJECT_REASONS.beyondQuantity,
        detail: `fill of ${report.last_qty} on ${order.filledQuantity} filled of ${order.quantity}`,
      };
    }
    next.filledQuantity += report.last_qty;
    next.filledNotional += notionalUnits(report.last_qty, report.last_px);
    fills.set(report.exec_id, { qty: report.last_qty, px: report.last_px, busted: false });
    fillEvent = true;
    wanted = next.filledQuantity === order.quantity ? 'filled' : 'partially_filled';
  } else if (report.exec_type === 'trade_bust') {
    const busted = report.ref_exec_id === null ? undefined : fills.get(report.ref_exec_id);
    if (!busted) return { kind: 'rejected', reason: REJECT_REASONS.bustUnknownFill, detail: `bust of ${report.ref_exec_id}` };
    if (busted.busted) return { kind: 'rejected', reason: REJECT_REASONS.bustRepeated, detail: `bust of ${report.ref_exec_id}` };
    // The stored fill's own quantity and price are what comes off, whatever the bust repeats.
    busted.busted = true;
    next.filledQuantity -= busted.qty;
    next.filledNotional -= BigInt(busted.qty) * priceUnits(busted.px);
    fillEvent = true;
    // No status goes back to `placed`: an order with its every fill busted stays partially_filled.
    if (next.filledQuantity > 0) wanted = 'partially_filled';
  } else if (report.exec_type === 'triggered') {
    return {
      kind: 'applied',
      order: next,
      fillEvent,
      triggered: true,
      statusChange: null,
      terminal: null,
      amended: null,
      cumMismatch: false,
    };
  } else if (report.exec_type === 'replaced') {
    // The venue amended the order (cancel/replace): its quantity, limit and stop price, time in
    // force and expiry as the report carries them, the venue's word (it refused a quantity not
    // above its cum); fills and status stay. Reports in seq order: a fill after it is checked
    // against the new quantity.
    if (report.order_qty === undefined) {
      return { kind: 'rejected', reason: REJECT_REASONS.malformed, detail: 'a replaced report without order_qty' };
    }
    next.quantity = report.order_qty;
    if (report.limit_price !== undefined) next.limitPrice = report.limit_price === null ? null : priceText2(report.limit_price);
    if (report.stop_price !== undefined) next.stopPrice = report.stop_price === null ? null : priceText2(report.stop_price);
    if (report.time_in_force !== undefined) next.timeInForce = report.time_in_force;
    if (report.expires_at !== undefined) next.expiresAt = report.expires_at === null ? null : new Date(report.expires_at).toISOString();
    amended = describeAmend(order, next);
  } else if (report.exec_type === 'new') {
    wanted = order.status === 'placing' ? 'placed' : order.status;
    next.placedAt ??= report.transact_time;
  } else {
    wanted = report.exec_type as 'cancelled' | 'expired' | 'rejected';
  }

  let statusChange: OrderStatus | null = null;
  let terminal: FinalStatus | null = null;
  if (wanted !== order.status && !isFinal(order.status) && isAllowedTransition(order.status, wanted)) {
    statusChange = wanted;
    next.status = wanted;
    if (isFinal(wanted)) terminal = wanted;
    if (wanted === 'filled') next.filledAt = report.transact_time;
    if (wanted === 'cancelled') next.cancelledAt = report.transact_time;
    if (wanted === 'expired') next.expiredAt = report.transact_time;
    if (wanted === 'rejected') {
      next.rejectedAt = report.transact_time;
      next.rejectedReason = report.text ?? 'Rejected by the venue';
    }
    if (wanted !== 'placed') next.placedAt ??= report.transact_time;
  }
  return {
    kind: 'applied',
    order: next,
    fillEvent,
    triggered: false,
    statusChange,
    terminal,
    amended,
    cumMismatch: next.filledQuantity !== report.cum_qty,
  };
}

/** A price as the orders table keeps it (numeric(18,2)): "187.5" -> "187.50". */
function priceText2(price: string): string {
  const [whole, fraction = ''] = price.split('.');
  return `${whole}.${fraction.padEnd(2, '0').slice(0, 2)}`;
}

/**
 * What an amend changed, as the order's history says it: "amended: quantity 10 -> 15, limit_price
 * 1.00 -> 1.50, stop_price 2.00 -> 2.50, time_in_force gtc -> day" (the expiry follows the time in force: not named).
 */
export function describeAmend(before: OrderAggregate, after: OrderAggregate): string {
  const changes: string[] = [];
  if (after.quantity !== before.quantity) changes.push(`quantity ${before.quantity} -> ${after.quantity}`);
  if (after.limitPrice !== before.limitPrice) changes.push(`limit_price ${before.limitPrice} -> ${after.limitPrice}`);
  if (after.stopPrice !== before.stopPrice) changes.push(`stop_price ${before.stopPrice} -> ${after.stopPrice}`);
  if (after.timeInForce !== before.timeInForce) changes.push(`time_in_force ${before.timeInForce} -> ${after.timeInForce}`);
  return `amended: ${changes.length > 0 ? changes.join(', ') : 'nothing changed'}`;
}
