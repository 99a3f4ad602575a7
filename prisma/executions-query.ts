import type { PrismaClient } from './client.js';

/** One execution of an order, as the ingestion process stored it from the venue's report. */
export interface Execution {
  /** The row's id: the position of GET /orders/{id}/executions' cursor. */
  position: bigint;
  venue: string;
  execId: string;
  seq: bigint;
  execType: string;
  orderStatus: string;
  quantity: number;
  /** Exact decimal text (4 places), null for reports without a fill price. */
  price: string | null;
  cumQuantity: number;
  leavesQuantity: number;
  averagePrice: string | null;
  refExecId: string | null;
  text: string | null;
  venueTime: Date;
  receivedAt: Date;
}

interface ExecutionRow {
  id: bigint;
  venue: string;
  exec_id: string;
  seq: bigint;
  exec_type: string;
  order_status: string;
  last_qty: number;
  last_px: string | null;
  cum_qty: number;
  leaves_qty: number;
  avg_px: string | null;
  ref_exec_id: string | null;
  text: string | null;
  venue_time: Date;
  received_at: Date;
}

/** The read side of GET /orders/{id}/executions: one page, in the order the venue sent them. */
export class ExecutionsQuery {
  constructor(private readonly db: PrismaClient) {}

  async page(orderId: string, pageSize: number, after?: bigint): Promise<{ executions: Execution[]; more: boolean }> {
    // One row more than asked tells whether there is a next page. Decimals as their exact text.
    const rows = await this.db.$queryRaw<ExecutionRow[]>`
      SELECT "id", "venue", "exec_id", "seq", "exec_type", "order_status", "last_qty", "last_px"::text AS "last_px",
        "cum_qty", "leaves_qty", "avg_px"::text AS "avg_px", "ref_exec_id", "text", "venue_time", "received_at"
      FROM "executions" WHERE "order_id" = ${orderId}::uuid AND "id" > ${after ?? 0n}
      ORDER BY "id" LIMIT ${pageSize + 1}::int`;
    return {
      executions: rows.slice(0, pageSize).map((row) => ({
        position: BigInt(row.id),
        venue: row.venue,
        execId: row.exec_id,
        seq: BigInt(row.seq),
        execType: row.exec_type,
        orderStatus: row.order_status,
        quantity: row.last_qty,
        price: row.last_px,
        cumQuantity: row.cum_qty,
        leavesQuantity: row.leaves_qty,
        averagePrice: row.avg_px,
        refExecId: row.ref_exec_id,
        text: row.text,
        venueTime: row.venue_time,
        receivedAt: row.received_at,
      })),
      more: rows.length > pageSize,
    };
  }
}
