import { DEMO_ACCOUNT_ID } from '../domain/accounts.js';
import type { Order } from '../domain/order.js';
import type { PrismaClient } from './client.js';
import { Prisma } from './generated/client.js';
import { ORDER_COLUMNS, type OrderRecord, toOrder } from './order-row.js';

// Reads of the order event stream (table order_stream, GET /events). Ids alone are not in commit
// order (a transaction that took its id first may commit last), so a reader goes by (tx, id) and
// reads only rows of transactions below the snapshot's xmin: every one of those is finished, and
// no transaction that starts later can get a smaller xid. A row once read is never followed by
// one that sorts before it.

/** A place in the stream: the writing transaction's id, then the row's id. */
export interface StreamPosition {
  tx: bigint;
  id: bigint;
}

export const STREAM_START: StreamPosition = { tx: 0n, id: 0n };

export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

export function laterPosition(a: StreamPosition, b: StreamPosition): StreamPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}

/** One row of the stream, with the order as it stood after the event. */
export interface StreamRow {
  position: StreamPosition;
  orderId: string;
  kind: string;
  at: Date;
  order: Order;
  /** The venue's execution report, for a fill (JSON as the ingestion stored it). */
  execution: unknown;
}

type RawStreamRow = OrderRecord & { tx: string; stream_id: string; kind: string; at: Date; execution: unknown };

export class OrderStreamQuery {
  constructor(private readonly db: Pick<PrismaClient, '$queryRaw'>) {}

  /** The last finished row, or STREAM_START for an empty stream: where a reader that wants only new events starts. */
  async tail(): Promise<StreamPosition> {
    const rows = await this.db.$queryRaw<{ tx: string; id: string }[]>`
      SELECT s."tx"::text AS "tx", s."id"::text AS "id" FROM "order_stream" s
      WHERE s."tx" < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
      ORDER BY s."tx" DESC, s."id" DESC LIMIT 1`;
    const row = rows[0];
    return row ? { tx: BigInt(row.tx), id: BigInt(row.id) } : STREAM_START;
  }

  /**
   * Up to `limit` finished rows after `after`, in stream order; with a scope, only its account's
   * (rows stored before accounts existed are the demo account's), and only one order's with its orderId.
   */
  async after(after: StreamPosition, limit: number, scope?: { accountId: string; orderId: string | null }): Promise<StreamRow[]> {
    const orderId = scope?.orderId ?? null;
    const rows = await this.db.$queryRaw<RawStreamRow[]>`
      SELECT s."tx"::text AS "tx", s."id"::text AS "stream_id", s."kind", s."at", s."execution", ${ORDER_COLUMNS}
      FROM "order_stream" s CROSS JOIN LATERAL jsonb_populate_record(NULL::"orders", s."state") o
      WHERE (s."tx", s."id") > (${after.tx.toString()}::bigint, ${after.id.toString()}::bigint)
        AND s."tx" < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
        ${orderId === null ? Prisma.empty : Prisma.sql`AND s."order_id" = ${orderId}::uuid`}
        ${scope === undefined ? Prisma.empty : Prisma.sql`AND COALESCE(o."account_id", ${DEMO_ACCOUNT_ID}::uuid) = ${scope.accountId}::uuid`}
      ORDER BY s."tx", s."id"
      LIMIT ${limit}`;
    return rows.map((row) => ({
      position: { tx: BigInt(row.tx), id: BigInt(row.stream_id) },
      orderId: row.id,
      kind: row.kind,
      at: row.at,
      order: toOrder(row),
      execution: row.execution,
    }));
  }
}
