// The GET /events run's flow: fills written straight into order_stream at a steady rate, in
// batches, the way the ingestion writes them (a narrow state: the fields a fill can change), each
// tagged (bench/sse-shape.ts EventTag) so every client can check its stream alone. One
// connection, one transaction at a time, rows inserted in exec order: the tags' numbers follow
// the stream's order, which the run checks afterwards (checkWrittenOrder).
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { execIdOf } from './sse-shape.js';

/** A fill row's state as the ingestion writes it (ingest/batch-plan.ts stateOf): the fields a fill can change, of the orders row `o`. */
const NARROW_STATE = `jsonb_build_object('status', o."status", 'filled_quantity', o."filled_quantity",
  'filled_notional', o."filled_notional"::text, 'placed_at', o."placed_at", 'filled_at', o."filled_at",
  'cancelled_at', o."cancelled_at", 'expired_at', o."expired_at", 'rejected_at', o."rejected_at",
  'rejected_reason', o."rejected_reason", 'expires_at', o."expires_at")`;

// ORDER BY the position in the arrays: the row ids (nextval, evaluated above the sort) follow the exec numbers.
const INSERT_SQL = `INSERT INTO "order_stream" ("order_id", "account_id", "kind", "state", "execution")
  SELECT o."id", o."account_id", 'fill', ${NARROW_STATE}, jsonb_build_object(
    'exec_id', f."exec_id", 'exec_type', 'partial_fill', 'order_id', o."id", 'last_qty', 1, 'last_px', '187.2500',
    'cum_qty', 1, 'leaves_qty', 999999, 'transact_time', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS f("order_id", "exec_id", "n")
  JOIN "orders" o ON o."id" = f."order_id"
  ORDER BY f."n"`;

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
         SELECT "tx", "id", split_part("execution"->>'exec_id', '-', 2)::bigint AS e FROM "order_stream"
         WHERE "account_id" = ANY($1::uuid[]) AND "kind" = 'fill') s) w`,
    [accountIds],
  );
  return { rows: Number(rows[0]!.rows), misordered: Number(rows[0]!.misordered) };
}
