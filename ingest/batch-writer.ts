import type pg from 'pg';
import { SYSTEM_ACTOR } from '../domain/accounts.js';
import type { KnownFill } from '../domain/fills.js';
import type { OrderSide } from '../domain/order.js';
import { moneyText, moneyUnits, type Position } from '../domain/positions.js';
import type { ExecutionReport } from '../exchange/protocol.js';
import {
  type AmendEvent,
  type BatchPlan,
  type BatchReads,
  type BatchResult,
  bustPositionKeysOf,
  bustsOf,
  execKey,
  type IngestItem,
  type LedgerFill,
  type OrderRow,
  type OrderUpdate,
  orderIdsOf,
  type PositionWrite,
  planBatch,
  positionKey,
  positionKeysOf,
  type RejectRow,
  repairsOf,
  reportsOf,
  type TerminalRow,
} from './batch-plan.js';
import { copyExecutions, copyFillEvents, reserveExecutionIds } from './batch-rows.js';
import { inTransaction } from './transaction.js';

export type { BatchResult, IngestItem } from './batch-plan.js';

/** The batch was not committed: another process holds the session now (its epoch moved on). */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

const FILL_TYPES = new Set(['partial_fill', 'fill']);

/**
 * Writes one batch in one transaction (docs/executions.md, "Batches"): fences on the session's
 * epoch, locks the batch's orders (ordered by id), reads the exec ids already stored and the
 * fills the busts refer to, plans the batch (ingest/batch-plan.ts, pure) and runs the plan:
 * executions and fill events with a COPY each (ingest/batch-rows.ts), order updates, outbox rows
 * and rejects with one statement each (unnest arrays), then commits.
 */
export async function writeBatch(
  pool: pg.Pool,
  session: { name: string; epoch: number },
  items: IngestItem[],
  nextSeq: number,
): Promise<BatchResult> {
  return inTransaction(pool, async (client) => {
    await fence(client, session, nextSeq);
    const plan = planBatch(items, await readLocked(client, reportsOf(items)));
    await runPlan(client, session.name, plan, linesOf(items));
    const repairs = plan.mismatched.size > 0 ? repairsOf(plan.mismatched, await firstStoredSeqs(client, [...plan.mismatched.keys()])) : [];
    return { ...plan.result, repairs };
  });
}

/** The transaction's first statement: it commits only under the epoch this process holds. */
async function fence(client: pg.PoolClient, session: { name: string; epoch: number }, nextSeq: number): Promise<void> {
  const fenced = await client.query(
    'UPDATE venue_sessions SET next_seq = GREATEST(next_seq, $3), updated_at = now() WHERE session = $1 AND epoch = $2',
    [session.name, session.epoch, nextSeq],
  );
  if (fenced.rowCount !== 1) throw new FencedError(`session ${session.name} is no longer held at epoch ${session.epoch}`);
}

/** A timestamptz column as the ISO text the plan keeps (millisecond precision, UTC): no Date to build and format again per row. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/** What the plan reads of a locked order (aggregateOf, and a fill row's account and expires_at): not the whole row. */
const ORDER_READ_COLUMNS = [
  'id',
  'status',
  'quantity',
  'limit_price::text AS limit_price',
  'stop_price::text AS stop_price',
  'time_in_force',
  'filled_quantity',
  'filled_notional::text AS filled_notional',
  'rejected_reason',
  'account_id',
  'instrument',
  'side',
  ...['placed_at', 'filled_at', 'cancelled_at', 'expired_at', 'rejected_at', 'expires_at'].map(iso),
].join(', ');

/** Locks the reports' orders (in id order) and reads what the plan needs under the locks. */
async function readLocked(client: pg.PoolClient, reports: ExecutionReport[]): Promise<BatchReads> {
  const orderIds = orderIdsOf(reports);
  const orders =
    orderIds.length === 0
      ? []
      : ((await client.query(`SELECT ${ORDER_READ_COLUMNS} FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [orderIds]))
          .rows as Record<string, unknown>[]);
  const stored = new Set<string>();
  if (reports.length > 0) {
    // One probe of the unique index per report (LATERAL): a join the planner is free to choose
    // may hash the whole table instead, and the table only grows.
    const found = await client.query(
      `SELECT u.venue, u.exec_id FROM unnest($1::text[], $2::text[]) AS u(venue, exec_id)
         CROSS JOIN LATERAL (SELECT 1 FROM executions e WHERE e.venue = u.venue AND e.exec_id = u.exec_id LIMIT 1) AS stored`,
      [reports.map((report) => report.venue), reports.map((report) => report.exec_id)],
    );
    for (const row of found.rows as { venue: string; exec_id: string }[]) stored.add(execKey(row.venue, row.exec_id));
  }
  const fills = await knownFills(client, reports);
  return { orders, stored, fills, ...(await readPositions(client, reports, orders)) };
}

/** A positions key's two parts, as arrays for unnest. */
function keyArrays(keys: readonly string[]): [string[], string[]] {
  const parts = keys.map((key) => key.split('\u0000') as [string, string]);
  return [parts.map((part) => part[0]), parts.map((part) => part[1])];
}

/**
 * The positions the batch's fills and busts may change, locked (in key order, after the orders:
 * every batch locks in the same order), and the standing fills of those its busts touch, in
 * executions order (a bust folds them again: domain/positions.ts).
 */
async function readPositions(
  client: pg.PoolClient,
  reports: ExecutionReport[],
  orders: OrderRow[],
): Promise<Pick<BatchReads, 'positions' | 'standing'>> {
  const positions = new Map<string, Position>();
  const standing = new Map<string, LedgerFill[]>();
  const keys = positionKeysOf(reports, orders);
  if (keys.length === 0) return { positions, standing };
  const found = await client.query(
    `SELECT p.account_id, p.instrument, p.quantity::text AS quantity, p.average_entry_price::text AS average_entry_price,
            p.realized_pnl::text AS realized_pnl, to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
       FROM unnest($1::uuid[], $2::text[]) AS u(account_id, instrument)
       JOIN positions p ON p.account_id = u.account_id AND p.instrument = u.instrument
      ORDER BY p.account_id, p.instrument FOR UPDATE OF p`,
    keyArrays(keys),
  );
  for (const row of found.rows as Record<string, string>[]) {
    positions.set(positionKey(row.account_id!, row.instrument!), {
      quantity: Number(row.quantity),
      averageEntryPrice: moneyUnits(row.average_entry_price!),
      realizedPnl: moneyUnits(row.realized_pnl!),
      updatedAt: row.updated_at!,
    });
  }
  const bustKeys = bustPositionKeysOf(reports, orders);
  for (const key of bustKeys) standing.set(key, []);
  if (bustKeys.length > 0) {
    const fills = await client.query(
      `SELECT o.account_id, o.instrument, o.side, e.venue, e.exec_id, e.last_qty, e.last_px::text AS last_px, to_char(e.venue_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS venue_time
         FROM unnest($1::uuid[], $2::text[]) AS u(account_id, instrument)
         JOIN orders o ON o.account_id = u.account_id AND o.instrument = u.instrument
         JOIN executions e ON e.order_id = o.id
        WHERE e.exec_type IN ('partial_fill', 'fill') AND e.last_px IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM executions b WHERE b.order_id = e.order_id AND b.exec_type = 'trade_bust' AND b.ref_exec_id = e.exec_id)
        ORDER BY e.id`,
      keyArrays(bustKeys),
    );
    for (const row of fills.rows as Record<string, string | number>[]) {
      standing.get(positionKey(String(row.account_id), String(row.instrument)))!.push({
        key: execKey(String(row.venue), String(row.exec_id)),
        fill: { side: row.side as OrderSide, quantity: Number(row.last_qty), price: String(row.last_px), at: String(row.venue_time) },
      });
    }
  }
  return { positions, standing };
}

/** The executions rows made when the items' lines were read. */
function linesOf(items: readonly IngestItem[]): Map<ExecutionReport, string> {
  const lines = new Map<ExecutionReport, string>();
  for (const item of items) if (item.report && item.executionLine !== undefined) lines.set(item.report, item.executionLine);
  return lines;
}

/** The plan's writes, in the order the stream and the trigger need. */
async function runPlan(
  client: pg.PoolClient,
  sessionName: string,
  plan: BatchPlan,
  lines: ReadonlyMap<ExecutionReport, string>,
): Promise<void> {
  const executionIds = new Map<ExecutionReport, string>();
  if (plan.executions.length > 0) {
    const ids = await reserveExecutionIds(client, plan.executions.length);
    for (const [index, report] of plan.executions.entries()) executionIds.set(report, ids[index]!);
    const inserted = await copyExecutions(client, plan.executions, ids, lines);
    // The orders' rows are locked and exec ids checked under the lock: a conflict here means
    // another writer slipped past the fence, and this batch must not count its fills.
    if (inserted !== plan.executions.length) throw new Error(`executions inserted ${inserted} of ${plan.executions.length}`);
  }
  await writeOrders(client, plan, executionIds);
  await writePositions(client, plan.positions);
  if (plan.terminals.length > 0) await insertTerminals(client, plan.terminals);
  if (plan.rejects.length > 0) await insertRejects(client, sessionName, plan.rejects);
}

/** The positions the batch changed: an UPDATE of those read (locked), an INSERT of those it opens (a concurrent opener fails it: unique key). */
async function writePositions(client: pg.PoolClient, writes: readonly PositionWrite[]): Promise<void> {
  const columns = (rows: readonly PositionWrite[]) => [
    rows.map((w) => w.accountId),
    rows.map((w) => w.instrument),
    rows.map((w) => String(w.position.quantity)),
    rows.map((w) => moneyText(w.position.averageEntryPrice)),
    rows.map((w) => moneyText(w.position.realizedPnl)),
    rows.map((w) => w.position.updatedAt),
  ];
  const values = `unnest($1::uuid[], $2::text[], $3::bigint[], $4::numeric[], $5::numeric[], $6::timestamptz[])
    AS u(account_id, instrument, quantity, average_entry_price, realized_pnl, updated_at)`;
  const stored = writes.filter((write) => write.stored);
  const opened = writes.filter((write) => !write.stored);
  if (stored.length > 0) {
    await client.query(
      `UPDATE positions p SET quantity = u.quantity, average_entry_price = u.average_entry_price, realized_pnl = u.realized_pnl,
              updated_at = u.updated_at
         FROM ${values} WHERE p.account_id = u.account_id AND p.instrument = u.instrument`,
      columns(stored),
    );
  }
  if (opened.length > 0) {
    await client.query(
      `INSERT INTO positions (account_id, instrument, quantity, average_entry_price, realized_pnl, updated_at)
       SELECT u.account_id, u.instrument, u.quantity, u.average_entry_price, u.realized_pnl, u.updated_at FROM ${values}`,
      columns(opened),
    );
  }
}

async function insertTerminals(client: pg.PoolClient, terminals: TerminalRow[]): Promise<void> {
  await client.query(
    `INSERT INTO order_terminal_outbox (order_id, status, filled_quantity)
     SELECT u.order_id, u.status::"OrderStatus", u.filled_quantity
       FROM unnest($1::uuid[], $2::text[], $3::int[]) AS u(order_id, status, filled_quantity)
     ON CONFLICT (order_id) DO NOTHING`,
    [terminals.map((t) => t.orderId), terminals.map((t) => t.status), terminals.map((t) => t.filledQuantity)],
  );
}

async function insertRejects(client: pg.PoolClient, sessionName: string, rejects: RejectRow[]): Promise<void> {
  await client.query(
    `INSERT INTO execution_rejects (session, seq, reason, raw)
     SELECT $1, u.seq, u.reason, u.raw FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(seq, reason, raw)`,
    [sessionName, rejects.map((r) => r.seq), rejects.map((r) => r.reason), rejects.map((r) => r.raw)],
  );
}

/** Each order's first stored seq (this batch's executions included): where a repair's range starts. */
async function firstStoredSeqs(client: pg.PoolClient, orderIds: string[]): Promise<Map<string, number>> {
  const first = await client.query(
    'SELECT order_id, min(seq) AS first FROM executions WHERE order_id = ANY($1::uuid[]) GROUP BY order_id',
    [orderIds],
  );
  return new Map((first.rows as { order_id: string; first: string }[]).map((row) => [row.order_id, Number(row.first)]));
}

/** The stored fills (and whether busted) that this batch's busts refer to, by order. */
async function knownFills(client: pg.PoolClient, reports: ExecutionReport[]): Promise<Map<string, Map<string, KnownFill>>> {
  const byOrder = new Map<string, Map<string, KnownFill>>();
  const busts = bustsOf(reports);
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

/**
 * Pass i writes every order's i-th segment (ingest/batch-plan.ts): its fill events, then its row
 * as at the segment's end. A row whose status changes is updated by a statement that sets status
 * (the trigger records it); the others by one that does not, so the trigger is not even called for them.
 */
async function writeOrders(client: pg.PoolClient, plan: BatchPlan, executionIds: ReadonlyMap<ExecutionReport, string>): Promise<void> {
  for (const pass of plan.passes) {
    if (pass.fills.length > 0) await copyFillEvents(client, pass.fills, executionIds);
    for (const update of pass.updates) await updateOrders(client, update);
    if (pass.amends.length > 0) await recordAmends(client, pass.amends);
  }
}

/**
 * The venue's amends of this pass, once their rows stand as amended: each one row of
 * order_events (the order's status, what changed, and who asked: the key id the API recorded
 * with the amend's request, or the system) and one `amended` row of the event stream (the order
 * as amended, as a status row holds it). One statement.
 */
async function recordAmends(client: pg.PoolClient, amends: readonly AmendEvent[]): Promise<void> {
  await client.query(
    `WITH u AS (SELECT * FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS u(id, reason, n)),
     events AS (
       INSERT INTO order_events (order_id, status, at, reason, actor)
       SELECT o.id, o.status, clock_timestamp(), u.reason, COALESCE(o.amend_requested_by, $3)
         FROM u JOIN orders o ON o.id = u.id ORDER BY u.n)
     INSERT INTO order_stream (order_id, account_id, kind, state, at)
     SELECT o.id, o.account_id, 'amended', to_jsonb(o), clock_timestamp() FROM u JOIN orders o ON o.id = u.id ORDER BY u.n`,
    [amends.map((amend) => amend.orderId), amends.map((amend) => amend.reason), SYSTEM_ACTOR],
  );
}

/** One UPDATE of the plan: only the columns it names (a fill's: filled_quantity, filled_notional). */
async function updateOrders(client: pg.PoolClient, update: OrderUpdate): Promise<void> {
  const params: unknown[] = [update.ids];
  const arrays = ['$1::uuid[]'];
  const names = ['id'];
  const sets: string[] = [];
  if (update.setsStatus) {
    params.push(SYSTEM_ACTOR, update.statuses);
    arrays.push('$3::text[]');
    names.push('status');
    // Who caused a status (the trigger records it): the venue's cancel is the one a client's key
    // asked for, when one did (DELETE /orders/:id); every other status the venue reports is the system's.
    sets.push(
      'status = u.status::"OrderStatus"',
      `status_actor = CASE WHEN u.status = 'cancelled' THEN COALESCE(o.cancel_requested_by, $2) ELSE $2 END`,
    );
  }
  update.columns.forEach((column, index) => {
    params.push(update.values[index]);
    arrays.push(`$${params.length}::${column.type}[]`);
    names.push(column.name);
    sets.push(`${column.name} = u.${column.name}`);
  });
  await client.query(
    `UPDATE orders o SET ${sets.join(', ')} FROM unnest(${arrays.join(', ')}) AS u(${names.join(', ')}) WHERE o.id = u.id`,
    params,
  );
}
