import { averagePrice, notionalUnits, priceText, priceUnits } from '../../domain/decimal.js';
import { type ExecType, type ExecutionReport, VENUE_NAME, VENUE_TERMINAL_STATUSES, type VenueOrderStatus } from '../protocol.js';
import { type OrderRecord, orderLine, reportLine } from './log-lines.js';
import type { LogEntry, ReportLog } from './report-log.js';

export interface Fill {
  qty: number;
  px: string;
  busted: boolean;
}

/** The venue's view of one order, derived only from its reports (so a replay of the log rebuilds it). */
export interface WorkingOrder {
  record: OrderRecord;
  status: VenueOrderStatus;
  cumQty: number;
  /** Σ qty × px of the fills not busted, in price units. */
  notional: bigint;
  fills: Map<string, Fill>;
  /** Every report of the order, oldest first. */
  reports: ExecutionReport[];
}

export type BookError = 'unknown_order' | 'not_working' | 'too_much' | 'unknown_exec' | 'not_a_fill';

export function isWorking(order: WorkingOrder): boolean {
  return !VENUE_TERMINAL_STATUSES.includes(order.status);
}

export function leavesOf(order: WorkingOrder): number {
  return isWorking(order) ? order.record.order.quantity - order.cumQty : 0;
}

/**
 * The venue's orders and the one place reports are made: each event takes the log's next
 * sequence number, becomes a report with the order's new cum/leaves/avg_px (exact, by
 * domain/decimal.ts), is applied to the order, serialised once (its wire line) and appended to
 * the log, which the sessions send from. Sending waits for the log.
 */
export class Book {
  readonly orders = new Map<string, WorkingOrder>();
  private readonly fillOwners = new Map<string, string>();
  /** Reports made since start, by type (stats). */
  readonly made = new Map<ExecType, number>();

  constructor(
    private readonly log: Pick<ReportLog, 'takeSeq' | 'append'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Rebuilds state from one logged entry (at start, before anything else happens). */
  replay(entry: LogEntry): void {
    if (entry.record && !this.orders.has(entry.report.order_id)) this.create(entry.record);
    this.apply(entry.report);
  }

  get(orderId: string): WorkingOrder | undefined {
    return this.orders.get(orderId);
  }

  accept(record: OrderRecord): ExecutionReport {
    const order = this.create(record);
    return this.emit(order, 'new', 0, null, null, null, record);
  }

  fill(orderId: string, qty: number, px: string): ExecutionReport | BookError {
    const order = this.orders.get(orderId);
    if (!order) return 'unknown_order';
    if (!isWorking(order)) return 'not_working';
    if (qty < 1 || qty > leavesOf(order)) return 'too_much';
    return this.emit(order, qty === leavesOf(order) ? 'fill' : 'partial_fill', qty, priceText(priceUnits(px)), null, null);
  }

  /** Busts an earlier fill of a working order: cum goes down by its quantity. */
  bust(execId: string, text: string | null = null): ExecutionReport | BookError {
    const orderId = this.fillOwners.get(execId);
    const order = orderId ? this.orders.get(orderId) : undefined;
    const fill = order?.fills.get(execId);
    if (!order || !fill) return 'unknown_exec';
    if (fill.busted) return 'not_a_fill';
    if (!isWorking(order)) return 'not_working';
    return this.emit(order, 'trade_bust', fill.qty, fill.px, execId, text);
  }

  /** Ends a working order for its open quantity (what was filled stays filled). */
  end(orderId: string, how: 'cancelled' | 'expired' | 'rejected', text: string | null = null): ExecutionReport | BookError {
    const order = this.orders.get(orderId);
    if (!order) return 'unknown_order';
    if (!isWorking(order)) return 'not_working';
    return this.emit(order, how, 0, null, null, text);
  }

  private create(record: OrderRecord): WorkingOrder {
    const order: WorkingOrder = { record, status: 'new', cumQty: 0, notional: 0n, fills: new Map(), reports: [] };
    this.orders.set(record.order.id, order);
    return order;
  }

  private emit(
    order: WorkingOrder,
    execType: ExecType,
    lastQty: number,
    lastPx: string | null,
    refExecId: string | null,
    text: string | null,
    record?: OrderRecord,
  ): ExecutionReport {
    let cumQty = order.cumQty;
    let notional = order.notional;
    let status: VenueOrderStatus = order.status;
    if (execType === 'partial_fill' || execType === 'fill') {
      cumQty += lastQty;
      notional += notionalUnits(lastQty, lastPx!);
      status = execType === 'fill' ? 'filled' : 'partially_filled';
    } else if (execType === 'trade_bust') {
      cumQty -= lastQty;
      notional -= notionalUnits(lastQty, lastPx!);
      status = cumQty === 0 ? 'new' : 'partially_filled';
    } else if (execType !== 'new') {
      status = execType;
    }
    const quantity = order.record.order.quantity;
    const seq = this.log.takeSeq();
    const report: ExecutionReport = {
      type: 'execution_report',
      seq,
      poss_dup: false,
      venue: VENUE_NAME,
      // Unique for ever: the seq is never reused by this log, the time part survives a wiped log.
      exec_id: `${seq.toString(36)}-${Date.now().toString(36)}`,
      order_id: order.record.order.id,
      exec_type: execType,
      order_status: status,
      side: order.record.order.side,
      last_qty: lastQty,
      last_px: lastPx,
      cum_qty: cumQty,
      leaves_qty: VENUE_TERMINAL_STATUSES.includes(status) ? 0 : quantity - cumQty,
      avg_px: averagePrice(notional, cumQty),
      transact_time: this.now().toISOString(),
      ref_exec_id: refExecId,
      text,
    };
    this.apply(report);
    this.log.append(seq, reportLine(report), record ? orderLine(record) : undefined);
    this.made.set(execType, (this.made.get(execType) ?? 0) + 1);
    return report;
  }

  private apply(report: ExecutionReport): void {
    const order = this.orders.get(report.order_id);
    if (!order) return; // a report of an order the log does not know cannot come from this venue
    if (report.exec_type === 'partial_fill' || report.exec_type === 'fill') {
      order.fills.set(report.exec_id, { qty: report.last_qty, px: report.last_px!, busted: false });
      this.fillOwners.set(report.exec_id, report.order_id);
      order.notional += notionalUnits(report.last_qty, report.last_px!);
    } else if (report.exec_type === 'trade_bust' && report.ref_exec_id) {
      const fill = order.fills.get(report.ref_exec_id);
      if (fill) {
        fill.busted = true;
        order.notional -= notionalUnits(fill.qty, fill.px);
      }
    }
    order.cumQty = report.cum_qty;
    order.status = report.order_status;
    order.reports.push(report);
  }
}
