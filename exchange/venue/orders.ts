import { isStopType } from '../../domain/order.js';
import { VENUE_TERMINAL_STATUSES, type VenueOrderStatus } from '../protocol.js';
import type { OrderRecord } from './log-lines.js';

/**
 * What the venue keeps in memory of every order it knows: a fixed set of numbers, whatever the
 * number of its reports. A finished order keeps only this (its cancel answer, a duplicate
 * placement's expiry, the control view's figures, and where its lines are in the log); its
 * reports and its order are in the log.
 */
export interface OrderState {
  readonly id: string;
  status: VenueOrderStatus;
  cumQty: number;
  /** Σ qty × px of the fills not busted, in price units. */
  notional: bigint;
  expiresAt: string | null;
  /** The seq of its first report (`new`) and of its latest. */
  firstSeq: number;
  lastSeq: number;
}

/** A working order: the state plus what the simulation needs to work it. */
export interface WorkingOrder extends OrderState {
  record: OrderRecord;
  /**
   * The exec ids of its busted fills (a fill is busted at most once): absent until the control
   * port busts one, dropped when the order ends (a finished order's fills cannot be busted).
   */
  busted?: Set<string>;
  /** A stop order whose price was reached (its `triggered` report is in the log): worked as a market or limit order. */
  triggered?: true;
}

/** A stop order the venue still holds: not worked until its instrument's price reaches its stop price. */
export function isUntriggeredStop(order: WorkingOrder): boolean {
  return isStopType(order.record.order.type) && order.triggered !== true;
}

export function isWorking(order: OrderState): order is WorkingOrder {
  return !VENUE_TERMINAL_STATUSES.includes(order.status);
}

export function leavesOf(order: OrderState): number {
  return isWorking(order) ? order.record.order.quantity - order.cumQty : 0;
}

/** A finished order's state as the venue keeps it: a copy without the order record or the busted fills. */
export function finished(order: OrderState): OrderState {
  const { id, status, cumQty, notional, expiresAt, firstSeq, lastSeq } = order;
  return { id, status, cumQty, notional, expiresAt, firstSeq, lastSeq };
}
