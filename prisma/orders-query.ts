import type { Order, OrderSide, OrderStatus, OrderType } from '../domain/order.js';
import type { PrismaClient } from './client.js';
import { Prisma } from './generated/client.js';
import { ORDER_COLUMNS, type OrderRecord, toOrder } from './order-row.js';

/** What GET /orders filters on; every field absent means "any". */
export interface OrderListFilters {
  /** Only this account's orders (every request lists its own). */
  accountId?: string;
  /** The order with this client_order_id (of the account). */
  clientOrderId?: string;
  /** One or more statuses (distinct). */
  statuses?: readonly OrderStatus[];
  instrument?: string;
  side?: OrderSide;
  type?: OrderType;
  /** ISO 8601 timestamp with an offset, as PostgreSQL parses it: created_at >= it. */
  createdFrom?: string;
  /** ISO 8601 timestamp with an offset: created_at < it. */
  createdTo?: string;
}

/** A position in the list: the (created_at, id) of the last order of the previous page. */
export interface OrderListPosition {
  createdAt: Date;
  id: string;
}

export interface OrderListQuery {
  filters: OrderListFilters;
  /** Only orders strictly after this position (newest first), i.e. (created_at, id) < it. */
  after?: OrderListPosition;
  /** How many rows the statement returns at most. */
  limit: number;
}

export interface OrderListPage {
  orders: Order[];
  /** Whether more orders follow the last one of this page. */
  more: boolean;
}

const NEWEST_FIRST = Prisma.sql`ORDER BY o."created_at" DESC, o."id" DESC`;

/**
 * The statement for one page, newest first: ORDER BY (created_at, id) DESC with keyset
 * pagination (`(created_at, id) < (cursor)`, a row comparison that the indexes on
 * (…, created_at DESC, id DESC) take as an index condition, so ties in created_at are broken by
 * id and no order is skipped or repeated). Three shapes, each served by an index scan that stops
 * after `limit` rows (see docs/list-orders.md for the plans):
 *  - no status, or an instrument given: one scan of `orders_created_at_id_idx` or
 *    `orders_instrument_created_at_id_idx`, the other filters checked on the rows read;
 *  - one status (without instrument): one scan of `orders_status_created_at_id_idx`;
 *  - several statuses (without instrument): no index yields several statuses in created_at
 *    order, so each status is read from `orders_status_created_at_id_idx` (at most `limit` rows
 *    each, in a LATERAL subquery) and only those k * limit rows are sorted.
 */
export function listOrdersSql(query: OrderListQuery): Prisma.Sql {
  const { filters, after, limit } = query;
  const conditions: Prisma.Sql[] = [];
  if (filters.accountId !== undefined) conditions.push(Prisma.sql`o."account_id" = ${filters.accountId}::uuid`);
  if (filters.clientOrderId !== undefined) conditions.push(Prisma.sql`o."client_order_id" = ${filters.clientOrderId}`);
  if (filters.instrument !== undefined) conditions.push(Prisma.sql`o."instrument" = ${filters.instrument}`);
  if (filters.side !== undefined) conditions.push(Prisma.sql`o."side" = ${filters.side}::"OrderSide"`);
  if (filters.type !== undefined) conditions.push(Prisma.sql`o."type" = ${filters.type}::"OrderType"`);
  if (filters.createdFrom !== undefined) conditions.push(Prisma.sql`o."created_at" >= ${filters.createdFrom}::timestamptz`);
  if (filters.createdTo !== undefined) conditions.push(Prisma.sql`o."created_at" < ${filters.createdTo}::timestamptz`);
  if (after !== undefined) {
    conditions.push(Prisma.sql`(o."created_at", o."id") < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`);
  }

  const statuses = filters.statuses ?? [];
  if (statuses.length > 1 && filters.instrument === undefined) {
    const where = Prisma.join([Prisma.sql`o."status" = s."wanted"`, ...conditions], ' AND ');
    return Prisma.sql`SELECT o.* FROM unnest(${[...statuses]}::"OrderStatus"[]) AS s("wanted")
      CROSS JOIN LATERAL (SELECT ${ORDER_COLUMNS} FROM "orders" o WHERE ${where} ${NEWEST_FIRST} LIMIT ${limit}::int) AS o
      ${NEWEST_FIRST} LIMIT ${limit}::int`;
  }
  if (statuses.length === 1) conditions.push(Prisma.sql`o."status" = ${statuses[0]}::"OrderStatus"`);
  if (statuses.length > 1) conditions.push(Prisma.sql`o."status" = ANY(${[...statuses]}::"OrderStatus"[])`);
  const where = conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}` : Prisma.empty;
  return Prisma.sql`SELECT ${ORDER_COLUMNS} FROM "orders" o ${where} ${NEWEST_FIRST} LIMIT ${limit}::int`;
}

/** The read side of GET /orders: one page of orders, newest first. */
export class OrdersQuery {
  constructor(private readonly db: PrismaClient) {}

  /** Up to `pageSize` orders after `after`, and whether more follow. */
  async page(filters: OrderListFilters, pageSize: number, after?: OrderListPosition): Promise<OrderListPage> {
    // One row more than asked tells whether there is a next page, without a COUNT.
    const rows = await this.db.$queryRaw<OrderRecord[]>(listOrdersSql({ filters, after, limit: pageSize + 1 }));
    return { orders: rows.slice(0, pageSize).map(toOrder), more: rows.length > pageSize };
  }
}
