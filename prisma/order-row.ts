import { averagePrice } from '../domain/decimal.js';
import type { Order, OrderSide, OrderStatus, OrderType, TimeInForce } from '../domain/order.js';
import { Prisma } from './generated/client.js';

// The one mapping of an orders row to the domain's Order. Every read selects ORDER_COLUMNS from
// an `o` that is the orders table, so enums come as text and decimals as their exact text: no
// float on the way. The order event stream's reader (prisma/order-stream.ts) gives the same
// fields as the text its rows' JSON state holds: integers and timestamps as text too.

export const ORDER_COLUMNS = Prisma.sql`o."id", o."type"::text AS "type", o."side"::text AS "side", o."instrument",
  o."limit_price"::text AS "limit_price", o."stop_price"::text AS "stop_price", o."quantity", o."status"::text AS "status", o."created_at", o."placed_at",
  o."rejected_at", o."rejected_reason", o."cancelled_at", o."time_in_force"::text AS "time_in_force", o."filled_quantity",
  o."filled_notional"::text AS "filled_notional", o."filled_at", o."expired_at", o."expires_at", o."account_id", o."client_order_id"`;

export interface OrderRecord {
  id: string;
  type: string;
  side: string;
  instrument: string;
  limit_price: string | null;
  /** Absent from the JSON state of stream rows written before the column existed (null then). */
  stop_price?: string | null;
  quantity: number | string;
  status: string;
  created_at: Date | string;
  placed_at: Date | string | null;
  rejected_at: Date | string | null;
  rejected_reason: string | null;
  cancelled_at: Date | string | null;
  time_in_force: string;
  filled_quantity: number | string;
  filled_notional: string;
  filled_at: Date | string | null;
  expired_at: Date | string | null;
  expires_at: Date | string | null;
  account_id: string;
  client_order_id: string | null;
}

export function toOrder(row: OrderRecord): Order {
  const filledQuantity = Number(row.filled_quantity);
  return {
    id: row.id,
    accountId: row.account_id,
    clientOrderId: row.client_order_id,
    type: row.type as OrderType,
    side: row.side as OrderSide,
    instrument: row.instrument,
    // NUMERIC(18,2) as text: always two decimals.
    limitPrice: row.limit_price,
    stopPrice: row.stop_price ?? null,
    quantity: Number(row.quantity),
    timeInForce: row.time_in_force as TimeInForce,
    status: row.status as OrderStatus,
    createdAt: toDate(row.created_at),
    placedAt: toDateOrNull(row.placed_at),
    rejectedAt: toDateOrNull(row.rejected_at),
    rejectedReason: row.rejected_reason,
    cancelledAt: toDateOrNull(row.cancelled_at),
    filledQuantity,
    averageFillPrice: averagePrice(notionalUnitsOf(row.filled_notional), filledQuantity),
    filledAt: toDateOrNull(row.filled_at),
    expiredAt: toDateOrNull(row.expired_at),
    expiresAt: toDateOrNull(row.expires_at),
  };
}

/** NUMERIC(38,4) text (e.g. "1872.5000", or "0") as price units. */
function notionalUnitsOf(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole!) * 10_000n + BigInt(fraction.padEnd(4, '0').slice(0, 4));
}

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}
