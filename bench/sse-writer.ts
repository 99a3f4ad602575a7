// The GET /events run's flow: fills written straight into the database at a steady rate, in
// batches, the way the ingestion writes them (migration …_order_stream_fill_columns): an
// executions row, and an order_stream row of plain columns (the fields a fill can change) naming
// it. Each is tagged (bench/sse-shape.ts EventTag, as its exec_id) so every client can check its
// stream alone. One connection, one statement at a time, rows inserted in exec order: the tags'
// numbers follow the stream's order, which the run checks afterwards (checkWrittenOrder).
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { execIdOf } from './sse-shape.js';

/**
 * A batch in one statement (the ingestion COPYs the same rows in one transaction): the orders'
 * current fields, the executions, then the fill rows in the arrays' order (ORDER BY: the row ids,
 * nextval evaluated above the sort, follow the exec numbers).
 */
const INSERT_SQL = `WITH "input" AS MATERIALIZED (
    SELECT f."n", f."exec_id", nextval('executions_id_seq') AS "execution_id", o."id" AS "order_id", o."account_id", o."status",
      o."filled_quantity", o."filled_notional", o."placed_at", o."filled_at", o."cancelled_at", o."expired_at", o."rejected_at",
      o."rejected_reason", o."expires_at"
    FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS f("order_id", "exec_id", "n") JOIN "orders" o ON o."id" = f."order_id"),
  "written" AS (
    INSERT INTO "executions" ("id", "venue", "exec_id", "order_id", "seq", "exec_type", "order_status", "last_qty", "last_px",
      "cum_qty", "leaves_qty", "venue_time")
    SELECT "execution_id", 'BENCH', "exec_id", "order_id", "execution_id", 'partial_fill', 'partially_filled', 1, 187.25, 1, 999999,
      clock_timestamp() FROM "input")
  INSERT INTO "order_stream" ("order_id", "account_id", "kind", "execution_id", "status", "filled_quantity", "filled_notional",
    "placed_at", "filled_at", "cancelled_at", "expired_at", "rejected_at", "rejected_reason", "expires_at")
  SELECT "order_id", "account_id", 'fill', "execution_id", "status", "filled_quantity", "filled_notional", "placed_at", "filled_at",
    "cancelled_at", "expired_at", "rejected_at", "rejected_reason", "expires_at"
  FROM "input" ORDER BY "n"`;

/** Rows an insert carries at most (a writer that fell behind catches up in batches this large). */
const MAX_BATCH = 2000;
/**
 * The pause after each insert, as the ingestion gathers a batch: without it the writer commits
 * as soon as a row or two are due, a thousand transactions a second whose fixed cost (about
 * 0.7 ms of PostgreSQL's CPU each) would be most of the run's PostgreSQL figure.
 */
const BATCH_PAUSE_MS = 10;

export interface FlowPlan {
  rate: number;
  durationS: number;
  /** Exec e goes to account schedule[e % length] (bench/sse-shape.ts flowSchedule). */
  schedule: Int32Array;
  /** Each account's orders' ids; its events go to them in turn. */
  orders: string[][];
}

export interface FlowResult {
  produced: number;
  flowS: number;
  slowestInsertMs: number;
  /** Per batch, its first exec number and when its commit was acknowledged (epoch ms), in exec order. */
  commits: { first: number; at: number }[];
  /** The events each account had, and each order (by account, then the order's index). */
  totals: { accounts: number[]; orders: number[][] };
}

export async function writeFlow(client: pg.ClientBase, plan: FlowPlan): Promise<FlowResult> {
  const totals = { accounts: plan.orders.map(() => 0), orders: plan.orders.map((orders) => orders.map(() => 0)) };
  const commits: FlowResult['commits'] = [];
  const started = performance.now();
  let produced = 0;
  let slowestInsertMs = 0;
  for (;;) {
    const elapsedS = (performance.now() - started) / 1000;
    if (elapsedS >= plan.durationS) break;
    const due = Math.min(Math.floor(elapsedS * plan.rate) - produced, MAX_BATCH);
    if (due <= 0) {
      await sleep(BATCH_PAUSE_MS);
      continue;
    }
    const orderIds: string[] = [];
    const execIds: string[] = [];
    for (let exec = produced; exec < produced + due; exec++) {
      const account = plan.schedule[exec % plan.schedule.length]!;
      const accountSeq = ++totals.accounts[account]!;
      const order = (accountSeq - 1) % plan.orders[account]!.length;
      const orderSeq = ++totals.orders[account]![order]!;
      orderIds.push(plan.orders[account]![order]!);
      execIds.push(execIdOf({ exec, account, order, accountSeq, orderSeq }));
    }
    const insertStarted = performance.now();
    await client.query(INSERT_SQL, [orderIds, execIds]);
    commits.push({ first: produced, at: performance.timeOrigin + performance.now() });
    slowestInsertMs = Math.max(slowestInsertMs, performance.now() - insertStarted);
    produced += due;
    await sleep(BATCH_PAUSE_MS);
  }
  return { produced, flowS: (performance.now() - started) / 1000, slowestInsertMs, commits, totals };
}

/**
 * Whether the stream's order of the written rows is their exec order (what the clients' check
 * relies on): rows of the run's accounts, by (tx, id), whose exec number is below the one before.
 */
export async function checkWrittenOrder(db: pg.ClientBase, accountIds: string[]): Promise<{ rows: number; misordered: number }> {
  const { rows } = await db.query<{ rows: string; misordered: string }>(
    `SELECT count(*) AS "rows", count(*) FILTER (WHERE e < previous) AS "misordered" FROM (
       SELECT e, lag(e) OVER (ORDER BY "tx", "id") AS previous FROM (
         SELECT s."tx", s."id", split_part(e."exec_id", '-', 2)::bigint AS e FROM "order_stream" s
         JOIN "executions" e ON e."id" = s."execution_id"
         WHERE s."account_id" = ANY($1::uuid[]) AND s."kind" = 'fill') s) w`,
    [accountIds],
  );
  return { rows: Number(rows[0]!.rows), misordered: Number(rows[0]!.misordered) };
}
