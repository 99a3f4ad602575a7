import { averagePrice } from '../../domain/decimal.js';
import type { ExecutionReport, VenueOrder } from '../protocol.js';
import type { Book } from './book.js';
import { lineSeq } from './log-lines.js';
import { leavesOf } from './orders.js';
import type { ReportLog } from './report-log.js';

export interface OrderView {
  order_id: string;
  /** The order as placed, with every replace applied (its quantity, limit price, stop price and time in force as they are now). */
  order: VenueOrder | null;
  status: string;
  cum_qty: number;
  leaves_qty: number;
  avg_px: string | null;
  expires_at: string | null;
  executions: ExecutionReport[];
}

/**
 * The venue's view of one order (GET /control/orders/:id): its figures as they are now, and its
 * order and reports read back from the log (the venue does not keep them in memory), up to the
 * report those figures are after. The log is searched between the order's first and latest
 * report for its `"order_id":"…"`, so the cost is the bytes the log wrote in that time.
 */
export async function orderView(book: Book, log: Pick<ReportLog, 'waitDurable' | 'find'>, orderId: string): Promise<OrderView | undefined> {
  const state = book.get(orderId);
  if (!state) return undefined;
  const { status, cumQty, notional, expiresAt, firstSeq, lastSeq } = state;
  const leaves = leavesOf(state);
  await log.waitDurable(lastSeq);
  let order: VenueOrder | null = null;
  const executions: ExecutionReport[] = [];
  for (const line of await log.find(firstSeq, lastSeq, `"order_id":${JSON.stringify(orderId)}`)) {
    const seq = lineSeq(line);
    const parsed = JSON.parse(line) as
      | ExecutionReport
      | { type: 'order'; order: VenueOrder }
      | { report: ExecutionReport; order?: { order: VenueOrder } };
    if ('report' in parsed) {
      // A line of a log written before the order lines (log-lines.ts).
      if (parsed.report.order_id !== orderId) continue;
      order ??= parsed.order?.order ?? null;
      if (seq <= lastSeq) executions.push(parsed.report);
    } else if (parsed.type === 'order') {
      if (parsed.order.id === orderId) order ??= parsed.order;
    } else if (parsed.order_id === orderId && seq >= firstSeq && seq <= lastSeq) {
      executions.push(parsed);
    }
  }
  // The order as amended: each `replaced` report's fields, in order, onto the order as placed.
  for (const report of executions) {
    if (report.exec_type !== 'replaced' || order === null) continue;
    order = {
      ...order,
      quantity: report.order_qty ?? order.quantity,
      limit_price: report.limit_price === undefined ? order.limit_price : report.limit_price,
      time_in_force: report.time_in_force ?? order.time_in_force,
      ...(report.stop_price !== undefined && report.stop_price !== null && { stop_price: report.stop_price }),
    };
  }
  return {
    order_id: orderId,
    order,
    status,
    cum_qty: cumQty,
    leaves_qty: leaves,
    avg_px: averagePrice(notional, cumQty),
    expires_at: expiresAt,
    executions,
  };
}
