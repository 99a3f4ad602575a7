import { AVERAGE_DECIMALS, PRICE_DECIMALS, priceUnits, unitsText } from './decimal.js';
import type { OrderSide } from './order.js';

/**
 * An account's position in one instrument (docs/positions.md): a fold of its standing fills in
 * executions order, pure and exact, on integers only. Money is kept in units of 10^-6
 * (AVERAGE_DECIMALS, an average price's scale); a fill's price (4 places) is exact in them.
 *
 * The rule (average cost, as brokers show it):
 * - a fill that opens or adds to the position (flat, or the same side as the position) raises the
 *   quantity; the new average entry price is (|q| × avg + qty × px) / (|q| + qty), rounded half
 *   up to 6 places: the one rounding of the fold, at the one step where the average changes;
 * - a fill against the position reduces it: it realises (px − avg) × qty for a long, (avg − px) ×
 *   qty for a short, and keeps the average;
 * - a fill larger than the position closes it (realising as above on the closed part) and opens
 *   the other side with the rest, at the fill's price.
 * cost_basis is quantity × average (signed like the quantity), so it is exact of the open quantity
 * by construction. A bust is not reversed step by step: once later fills moved the average, no
 * inverse exists; the position is folded again from the standing fills (positionOf).
 */

/** Units of money (10^-6) per unit of a price (10^-4). */
const PRICE_TO_MONEY = 10n ** BigInt(AVERAGE_DECIMALS - PRICE_DECIMALS);

export interface Position {
  /** Signed: buys add, sells subtract. */
  quantity: number;
  /** Of the open quantity, in 10^-6 units; 0 when flat. */
  averageEntryPrice: bigint;
  /** Σ of what reductions realised, in 10^-6 units. */
  realizedPnl: bigint;
  /** The venue's time of the last fill or bust that changed it; null before any. */
  updatedAt: string | null;
}

export const FLAT: Position = { quantity: 0, averageEntryPrice: 0n, realizedPnl: 0n, updatedAt: null };

/** One fill of an order, as the position sees it. */
export interface PositionFill {
  side: OrderSide;
  quantity: number;
  /** The fill's price: at most 4 decimals (the wire's). */
  price: string;
  /** The venue's time of the fill. */
  at: string;
}

/** a / b rounded half up, for a ≥ 0 and b > 0. */
const divideHalfUp = (a: bigint, b: bigint): bigint => (2n * a + b) / (2n * b);

/** The position after one fill. */
export function applyFill(position: Position, fill: PositionFill): Position {
  if (!Number.isSafeInteger(fill.quantity) || fill.quantity < 1) throw new RangeError(`a fill of ${fill.quantity}`);
  const price = priceUnits(fill.price) * PRICE_TO_MONEY;
  const signed = fill.side === 'buy' ? fill.quantity : -fill.quantity;
  const held = Math.abs(position.quantity);
  const quantity = position.quantity + signed;
  if (position.quantity === 0 || Math.sign(position.quantity) === Math.sign(signed)) {
    const total = BigInt(held) * position.averageEntryPrice + BigInt(fill.quantity) * price;
    return { ...position, quantity, averageEntryPrice: divideHalfUp(total, BigInt(held + fill.quantity)), updatedAt: fill.at };
  }
  // Against the position: what closes realises against the average; the rest opens at the price.
  const closed = BigInt(Math.min(held, fill.quantity));
  const perShare = position.quantity > 0 ? price - position.averageEntryPrice : position.averageEntryPrice - price;
  const realizedPnl = position.realizedPnl + closed * perShare;
  const averageEntryPrice = quantity === 0 ? 0n : Math.sign(quantity) === Math.sign(position.quantity) ? position.averageEntryPrice : price;
  return { quantity, averageEntryPrice, realizedPnl, updatedAt: fill.at };
}

/** The position of standing fills, folded in executions order from flat; `updatedAt` as given (the bust's time, for one). */
export function positionOf(fills: readonly PositionFill[], updatedAt: string | null): Position {
  return { ...fills.reduce(applyFill, FLAT), updatedAt };
}

/** The position's cost basis: quantity × average, signed like the quantity, in 10^-6 units. */
export const costBasis = (position: Position): bigint => BigInt(position.quantity) * position.averageEntryPrice;

/** A money amount in 10^-6 units as its exact text (6 places). */
export const moneyText = (units: bigint): string => unitsText(units, AVERAGE_DECIMALS);

/** Text of a numeric column with at most 6 places (as PostgreSQL sends it) in 10^-6 units; throws on anything else. */
export function moneyUnits(text: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) throw new RangeError(`Not a decimal with at most ${AVERAGE_DECIMALS} decimals: ${JSON.stringify(text)}`);
  const units = BigInt(match[2]!) * 10n ** BigInt(AVERAGE_DECIMALS) + BigInt((match[3] ?? '').padEnd(AVERAGE_DECIMALS, '0'));
  return match[1] ? -units : units;
}
