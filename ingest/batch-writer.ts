import type pg from 'pg';
import { SYSTEM_ACTOR } from '../domain/accounts.js';
import { decimalUnits, unitsText } from '../domain/decimal.js';
import { applyReport, type KnownFill, type OrderAggregate, REJECT_REASONS, type RejectReason } from '../domain/fills.js';
import type { FinalStatus, OrderStatus } from '../domain/order.js';
import type { ExecutionReport } from '../exchange/protocol.js';

/** One line of the session, as the batcher hands it on: a report, or a bad line kept as a reject. */
export interface IngestItem {
  /** Its sequence number; null for a line whose seq could not be read. */
  seq: number | null;
  report: ExecutionReport | null;
  /** Why a line is bad before any order is looked at (malformed). */
  reject: { reason: RejectReason; detail: string } | null;
  raw: string;
  /** performance.now() when its line was read off the socket. */
  readAt: number;
  /** Resent for a cum mismatch's repair: below the committed seq, applied only if its exec id is new. */
  repair: boolean;
}

export interface BatchResult {
  applied: number;
  duplicates: number;
  rejects: { reason: RejectReason; seq: number | null; orderId: string | null; detail: string }[];
  /** Ranges to ask the venue again for (a cum mismatch), by order. */
  repairs: { orderId: string; from: number; to: number }[];
  terminals: number;
}

/** The batch was not committed: another process holds the session now (its epoch moved on). */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/** The batch's view of an order: its row as read (column names), and the aggregate the fold changes. */
interface LockedOrder {
  row: Record<string, unknown>;
  aggregate: OrderAggregate;
  /** The order's states after its reports, cut at each status change (each cut is one UPDATE pass). */
  segments: Segment[];
}

interface Segment {
  fills: { state: OrderAggregate; execution: ExecutionReport }[];
  end: OrderAggregate;
  statusChanged: boolean;
}

const isoOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : String(value);

function aggregateOf(row: Record<string, unknown>): OrderAggregate {
  return {
    id: String(row.id),
    status: row.status as OrderStatus,
    quantity: Number(row.quantity),
    filledQuantity: Number(row.filled_quantity),
    filledNotional: decimalUnits(String(row.filled_notional)),
    placedAt: isoOrNull(row.placed_at),
    filledAt: isoOrNull(row.filled_at),
    cancelledAt: isoOrNull(row.cancelled_at),
    expiredAt: isoOrNull(row.expired_at),
    rejectedAt: isoOrNull(row.rejected_at),
    rejectedReason: (row.rejected_reason as string | null) ?? null,
  };
}

/** The orders row after the fold, with the table's column names (GET /events reads its fields back, prisma/order-stream.ts). */
function stateOf(row: Record<string, unknown>, order: OrderAggregate): Record<string, unknown> {
  return {
    ...row,
    status: order.status,
    filled_quantity: order.filledQuantity,
    filled_notional: unitsText(order.filledNotional, 4),
    placed_at: order.placedAt,
    filled_at: order.filledAt,
    cancelled_at: order.cancelledAt,
    expired_at: order.expiredAt,
    rejected_at: order.rejectedAt,
    rejected_reason: order.rejectedReason,
  };
}

const FILL_TYPES = new Set(['partial_fill', 'fill']);

/**
 * Writes one batch in one transaction (docs/executions.md, "Batches"): fences on the session's
 * epoch, locks the batch's orders (ordered by id), drops exec ids already stored, folds the new
 * reports onto each order in seq order (domain/fills.ts), and inserts executions, stream
 * events, outbox rows and rejects with one statement each (unnest arrays), then commits. The
 * orders are updated once per status change, so every status an order passes through fires the
 * orders trigger (order_events and a `status` stream row) after the fills that led to it.
 */
export async function writeBatch(
  pool: pg.Pool,
  session: { name: string; epoch: number },
  items: IngestItem[],
  nextSeq: number,
): Promise<BatchResult> {
  const result: BatchResult = { applied: 0, duplicates: 0, rejects: [], repairs: [], terminals: 0 };
  const client = await pool.connect();
  let release: Error | undefined;
  try {
    await client.query('BEGIN');
    const fenced = await client.query(
      'UPDATE venue_sessions SET next_seq = GREATEST(next_seq, $3), updated_at = now() WHERE session = $1 AND epoch = $2',
      [session.name, session.epoch, nextSeq],
    );
    if (fenced.rowCount !== 1) throw new FencedError(`session ${session.name} is no longer held at epoch ${session.epoch}`);

    const reports = items.filter((item) => item.report !== null);
    const orderIds = [...new Set(reports.map((item) => item.report!.order_id))].sort();
    const orders = new Map<string, LockedOrder>();
    if (orderIds.length > 0) {
      const locked = await client.query('SELECT * FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [orderIds]);
      for (const row of locked.rows as Record<string, unknown>[]) {
        const aggregate = aggregateOf(row);
        orders.set(aggregate.id, { row, aggregate, segments: [] });
      }
    }
    const stored = new Set<string>();
    if (reports.length > 0) {
      const found = await client.query(
        `SELECT e.venue, e.exec_id FROM executions e
           JOIN unnest($1::text[], $2::text[]) AS u(venue, exec_id) ON e.venue = u.venue AND e.exec_id = u.exec_id`,
        [reports.map((item) => item.report!.venue), reports.map((item) => item.report!.exec_id)],
      );
      for (const row of found.rows as { venue: string; exec_id: string }[]) stored.add(`${row.venue}\u0000${row.exec_id}`);
    }
    const fills = await knownFills(client, reports);

    const executions: ExecutionReport[] = [];
    const rejects: { seq: number | null; reason: string; raw: string }[] = [];
    const terminals: { orderId: string; status: FinalStatus; filledQuantity: number }[] = [];
    const mismatched = new Map<string, number>();
    const seen = new Set<string>();
    const reject = (item: IngestItem, reason: RejectReason, detail: string, orderId: string | null) => {
      // A repair's resend repeats reports already judged: only their new exec ids count.
      if (item.repair) return;
      rejects.push({ seq: item.seq, reason, raw: item.raw });
      result.rejects.push({ reason, seq: item.seq, orderId, detail });
    };

    for (const item of items) {
      const report = item.report;
      if (!report) {
        reject(item, item.reject?.reason ?? REJECT_REASONS.malformed, item.reject?.detail ?? 'malformed', null);
        continue;
      }
      const key = `${report.venue}\u0000${report.exec_id}`;
      if (stored.has(key) || seen.has(key)) {
        result.duplicates += 1;
        continue;
      }
      seen.add(key);
      const order = orders.get(report.order_id);
      if (!order) {
        reject(item, REJECT_REASONS.unknownOrder, `no order ${report.order_id}`, report.order_id);
        continue;
      }
      const orderFills = fills.get(report.order_id) ?? new Map<string, KnownFill>();
      fills.set(report.order_id, orderFills);
      const outcome = applyReport(order.aggregate, report, orderFills);
      if (outcome.kind === 'rejected') {
        reject(item, outcome.reason, outcome.detail, report.order_id);
        continue;
      }
      result.applied += 1;
      executions.push(report);
      order.aggregate = outcome.order;
      let segment = order.segments[order.segments.length - 1];
      if (!segment || segment.statusChanged) {
        segment = { fills: [], end: outcome.order, statusChanged: false };
        order.segments.push(segment);
      }
      const { poss_dup: _possDup, ...execution } = report;
      if (outcome.fillEvent) segment.fills.push({ state: outcome.order, execution: execution as ExecutionReport });
      segment.end = outcome.order;
      if (outcome.statusChange) segment.statusChanged = true;
      if (outcome.terminal) {
        terminals.push({ orderId: report.order_id, status: outcome.terminal, filledQuantity: outcome.order.filledQuantity });
      }
      if (outcome.cumMismatch && !item.repair) {
        reject(
          item,
          REJECT_REASONS.cumMismatch,
          `venue cum_qty ${report.cum_qty}, fills applied ${outcome.order.filledQuantity}`,
          report.order_id,
        );
        mismatched.set(report.order_id, Math.max(mismatched.get(report.order_id) ?? 0, report.seq));
      }
    }

    if (executions.length > 0) {
      const inserted = await insertExecutions(client, executions);
      // The orders' rows are locked and exec ids checked under the lock: a conflict here means
      // another writer slipped past the fence, and this batch must not count its fills.
      if (inserted !== executions.length) throw new Error(`executions inserted ${inserted} of ${executions.length}`);
    }
    await writeOrders(client, [...orders.values()]);
    if (terminals.length > 0) {
      await client.query(
        `INSERT INTO order_terminal_outbox (order_id, status, filled_quantity)
         SELECT u.order_id, u.status::"OrderStatus", u.filled_quantity
           FROM unnest($1::uuid[], $2::text[], $3::int[]) AS u(order_id, status, filled_quantity)
         ON CONFLICT (order_id) DO NOTHING`,
        [terminals.map((t) => t.orderId), terminals.map((t) => t.status), terminals.map((t) => t.filledQuantity)],
      );
      result.terminals = terminals.length;
    }
    if (rejects.length > 0) {
      await client.query(
        `INSERT INTO execution_rejects (session, seq, reason, raw)
         SELECT $1, u.seq, u.reason, u.raw FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(seq, reason, raw)`,
        [session.name, rejects.map((r) => r.seq), rejects.map((r) => r.reason), rejects.map((r) => r.raw)],
      );
    }
    if (mismatched.size > 0) {
      const first = await client.query(
        'SELECT order_id, min(seq) AS first FROM executions WHERE order_id = ANY($1::uuid[]) GROUP BY order_id',
        [[...mismatched.keys()]],
      );
      const firstOf = new Map((first.rows as { order_id: string; first: string }[]).map((row) => [row.order_id, Number(row.first)]));
      for (const [orderId, to] of mismatched) result.repairs.push({ orderId, from: Math.min(firstOf.get(orderId) ?? to, to), to });
    }
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      release = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    // A connection whose rollback failed is broken: the pool must not hand it out again.
    client.release(release);
  }
}

/** The stored fills (and whether busted) that this batch's busts refer to, by order. */
async function knownFills(client: pg.PoolClient, reports: IngestItem[]): Promise<Map<string, Map<string, KnownFill>>> {
  const byOrder = new Map<string, Map<string, KnownFill>>();
  const busts = reports.map((item) => item.report!).filter((report) => report.exec_type === 'trade_bust' && report.ref_exec_id);
  if (busts.length === 0) return byOrder;
  const refs = busts.map((report) => report.ref_exec_id!);
  const orderIds = [...new Set(busts.map((report) => report.order_id))];
  const found = await client.query(
    `SELECT f.order_id, f.exec_id, f.exec_type, f.last_qty, f.last_px::text AS last_px,
            EXISTS (SELECT 1 FROM executions b WHERE b.order_id = f.order_id AND b.exec_type = 'trade_bust' AND b.ref_exec_id = f.exec_id) AS busted
       FROM executions f WHERE f.order_id = ANY($1::uuid[]) AND f.exec_id = ANY($2::text[])`,
    [orderIds, refs],
  );
  for (const row of found.rows as {
    order_id: string;
    exec_id: string;
    exec_type: string;
    last_qty: number;
    last_px: string | null;
    busted: boolean;
  }[]) {
    if (!FILL_TYPES.has(row.exec_type) || row.last_px === null) continue;
    const fills = byOrder.get(row.order_id) ?? new Map<string, KnownFill>();
    fills.set(row.exec_id, { qty: row.last_qty, px: row.last_px, busted: row.busted });
    byOrder.set(row.order_id, fills);
  }
  return byOrder;
}

/** The batch's executions in one statement; exported for the benchmark's bare-insert limit (the same statement, alone). */
export async function insertExecutions(client: pg.PoolClient | pg.Client, reports: ExecutionReport[]): Promise<number> {
  const column = <T>(pick: (report: ExecutionReport) => T) => reports.map(pick);
  const inserted = await client.query(
    `INSERT INTO executions (venue, exec_id, order_id, seq, exec_type, order_status, last_qty, last_px, cum_qty, leaves_qty,
                             avg_px, ref_exec_id, text, venue_time)
     SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::int[], $8::numeric[],
                          $9::int[], $10::int[], $11::numeric[], $12::text[], $13::text[], $14::timestamptz[])
     ON CONFLICT (venue, exec_id) DO NOTHING`,
    [
      column((r) => r.venue),
      column((r) => r.exec_id),
      column((r) => r.order_id),
      column((r) => r.seq),
      column((r) => r.exec_type),
      column((r) => r.order_status),
      column((r) => r.last_qty),
      column((r) => r.last_px),
      column((r) => r.cum_qty),
      column((r) => r.leaves_qty),
      column((r) => r.avg_px),
      column((r) => r.ref_exec_id),
      column((r) => r.text),
      column((r) => r.transact_time),
    ],
  );
  return inserted.rowCount ?? 0;
}

/**
 * Pass i writes every order's i-th segment: its fill events, then its row as at the segment's
 * end. A row whose status changes is updated by a statement that sets status (the trigger
 * records it); the others by one that does not, so the trigger is not even called for them.
 */
async function writeOrders(client: pg.PoolClient, orders: LockedOrder[]): Promise<void> {
  const passes = Math.max(0, ...orders.map((order) => order.segments.length));
  for (let pass = 0; pass < passes; pass++) {
    const stream: { orderId: string; accountId: string; state: string; execution: string }[] = [];
    const changed: OrderAggregate[] = [];
    const quiet: OrderAggregate[] = [];
    for (const order of orders) {
      const segment = order.segments[pass];
      if (!segment) continue;
      for (const fill of segment.fills) {
        stream.push({
          orderId: order.aggregate.id,
          // The order's account: GET /events routes and catches up by it (the row's own column).
          accountId: String(order.row.account_id),
          state: JSON.stringify(stateOf(order.row, fill.state)),
          execution: JSON.stringify(fill.execution),
        });
      }
      (segment.statusChanged ? changed : quiet).push(segment.end);
    }
    if (stream.length > 0) {
      // One JSON document, not jsonb[]: an array literal would escape every quote of every state.
      await client.query(
        `INSERT INTO order_stream (order_id, account_id, kind, state, execution)
         SELECT (e->>0)::uuid, (e->>1)::uuid, 'fill', e->2, e->3 FROM jsonb_array_elements($1::jsonb) AS e`,
        [`[${stream.map((s) => `[${JSON.stringify(s.orderId)},${JSON.stringify(s.accountId)},${s.state},${s.execution}]`).join(',')}]`],
      );
    }
    if (changed.length > 0) await updateOrders(client, changed, true);
    if (quiet.length > 0) await updateOrders(client, quiet, false);
  }
}

async function updateOrders(client: pg.PoolClient, orders: OrderAggregate[], withStatus: boolean): Promise<void> {
  const column = <T>(pick: (order: OrderAggregate) => T) => orders.map(pick);
  await client.query(
    // Who caused a status (the trigger records it): the venue's cancel is the one a client's key
    // asked for, when one did (DELETE /orders/:id); every other status the venue reports is the system's.
    `UPDATE orders o SET ${withStatus ? `status = u.status::"OrderStatus", ${STATUS_ACTOR_SQL},` : ''}
            filled_quantity = u.filled_quantity, filled_notional = u.filled_notional, placed_at = u.placed_at,
            filled_at = u.filled_at, cancelled_at = u.cancelled_at, expired_at = u.expired_at, rejected_at = u.rejected_at,
            rejected_reason = u.rejected_reason
       FROM unnest($1::uuid[], $2::text[], $3::int[], $4::numeric[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
                   $8::timestamptz[], $9::timestamptz[], $10::text[])
         AS u(id, status, filled_quantity, filled_notional, placed_at, filled_at, cancelled_at, expired_at, rejected_at, rejected_reason)
      WHERE o.id = u.id`,
    [
      column((o) => o.id),
      column((o) => o.status),
      column((o) => o.filledQuantity),
      column((o) => unitsText(o.filledNotional, 4)),
      column((o) => o.placedAt),
      column((o) => o.filledAt),
      column((o) => o.cancelledAt),
      column((o) => o.expiredAt),
      column((o) => o.rejectedAt),
      column((o) => o.rejectedReason),
      ...(withStatus ? [SYSTEM_ACTOR] : []),
    ],
  );
}

const STATUS_ACTOR_SQL = `status_actor = CASE WHEN u.status = 'cancelled' THEN COALESCE(o.cancel_requested_by, $11) ELSE $11 END`;
