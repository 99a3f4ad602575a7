// Where the time of a sample of a run's orders went (bench/order-stages.ts): their rows and status
// events read from PostgreSQL, joined with their workflow histories already read from Temporal.
import type { OrderHistory } from './history.js';
import { type OrderMarks, type OrderTime, orderTime } from './order-stages.js';
import type { Bench } from './scenarios.js';

/**
 * Up to `limit` of a scenario's orders (not rejected ones), spread evenly over their arrival:
 * every k-th by created_at, so that the sample covers the whole run, its start and its end.
 */
export async function spreadSample(bench: Bench, instrument: string, limit: number): Promise<{ id: string; createdMs: number }[]> {
  const { rows } = await bench.pool.query<{ id: string; created: number }>(
    `SELECT id, created FROM (
       SELECT id, (extract(epoch FROM created_at) * 1000)::float8 AS created,
              row_number() OVER (ORDER BY created_at, id) - 1 AS n, count(*) OVER () AS total
         FROM orders WHERE instrument = $1 AND status <> 'rejected') spread
      WHERE n % GREATEST(1, ceil(total::numeric / $2))::int = 0
      ORDER BY created LIMIT $2`,
    [instrument, limit],
  );
  return rows.map((row) => ({ id: row.id, createdMs: row.created }));
}

export interface OrderTimes {
  orders: OrderTime[];
  /** Orders of the sample not charted: not placed, or not in their first workflow task (the exchange's first attempt failed). */
  leftOut: number;
}

/** The stages of each healthy order among `histories`, its times counted from runStartMs. */
export async function orderTimes(bench: Bench, histories: OrderHistory[], runStartMs: number): Promise<OrderTimes> {
  const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;
  const { rows } = await bench.pool.query<{ id: string; placed: number | null; accepted: number | null; placing: number | null }>(
    `SELECT o.id, ${ms('o.placed_at')} AS placed,
            ${ms("min(e.at) FILTER (WHERE e.status = 'accepted')")} AS accepted,
            ${ms("min(e.at) FILTER (WHERE e.status = 'placing')")} AS placing
       FROM orders o LEFT JOIN order_events e ON e.order_id = o.id AND e.status IN ('accepted', 'placing')
      WHERE o.id = ANY($1::uuid[])
      GROUP BY o.id, o.placed_at`,
    [histories.map((history) => history.id)],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const orders: OrderTime[] = [];
  for (const history of histories) {
    const row = byId.get(history.id);
    const { startedAtMs, firstTaskStartedAtMs, firstTaskCompletedAtMs } = history.times;
    const marks: Partial<OrderMarks> = {
      createdMs: history.createdMs,
      acceptedMs: row?.accepted ?? null,
      workflowStartedMs: startedAtMs ?? undefined,
      taskStartedMs: firstTaskStartedAtMs ?? undefined,
      placingMs: row?.placing ?? undefined,
      placedMs: row?.placed ?? undefined,
      taskCompletedMs: firstTaskCompletedAtMs ?? undefined,
    };
    // Placed in its first task: placed_at falls before that task's completion.
    if (!history.firstExchangeAttemptFailed && isComplete(marks) && marks.placedMs <= marks.taskCompletedMs) {
      orders.push(orderTime(marks, runStartMs));
    }
  }
  return { orders, leftOut: histories.length - orders.length };
}

function isComplete(marks: Partial<OrderMarks>): marks is OrderMarks {
  return (
    marks.createdMs !== undefined &&
    marks.workflowStartedMs !== undefined &&
    marks.taskStartedMs !== undefined &&
    marks.placingMs !== undefined &&
    marks.placedMs !== undefined &&
    marks.taskCompletedMs !== undefined
  );
}
