import { averagePrice, notionalUnits, priceText, priceUnits } from '../../domain/decimal.js';
import {
  type ExecType,
  type ExecutionReport,
  type ReplaceRefusal,
  VENUE_NAME,
  VENUE_TERMINAL_STATUSES,
  type VenueOrderStatus,
} from '../protocol.js';
import { execIdSeq, type OrderRecord, orderLine, reportLine } from './log-lines.js';
import { finished, isWorking, leavesOf, type OrderState, type WorkingOrder } from './orders.js';
import { applyReplaced, type ReplaceChanges, replacement } from './replace.js';
import type { LogEntry, ReportLog } from './report-log.js';

export type BookError = 'unknown_order' | 'not_working' | 'too_much' | 'unknown_exec' | 'not_a_fill';

export interface BookMemory {
  orders_working: number;
  orders_finished: number;
  /** Exec ids of busted fills held (of working orders only). */
  busted_fills_held: number;
}

/**
 * The venue's orders and the one place reports are made: each event takes the log's next
 * sequence number, becomes a report with the order's new cum/leaves/avg_px (exact, by
 * domain/decimal.ts), is applied to the order, serialised once (its wire line) and appended to
 * the log, which the sessions send from. Sending waits for the log. An order's memory does not
 * grow with its reports (orders.ts): the reports are in the log only, and a bust reads the
 * busted fill back from it.
 */
export class Book {
  private readonly orders = new Map<string, OrderState>();
  private working = 0;
  private bustedHeld = 0;
  /** Reports made since start, by type (stats). */
  readonly made = new Map<ExecType, number>();

  constructor(
    private readonly log: Pick<ReportLog, 'takeSeq' | 'append' | 'lineAt'>,
    private readonly now: () => Date = () => new Date(),
    /** When a day order accepted (or made `day` by a replace) at a time expires: none without it. */
    private readonly dayExpiry?: (at: Date) => Date,
  ) {}

  /** Rebuilds state from one logged entry (at start, before anything else happens). */
  replay(entry: LogEntry): void {
    const { report } = entry;
    if (entry.record && !this.orders.has(report.order_id)) this.create(entry.record);
    const order = this.orders.get(report.order_id);
    // A report of an order the log does not know (or of a finished one) cannot come from this venue.
    if (!order || !isWorking(order)) return;
    if (report.exec_type === 'replaced') applyReplaced(order, report, this.dayExpiry);
    let notional = order.notional;
    if (report.exec_type === 'partial_fill' || report.exec_type === 'fill') notional += notionalUnits(report.last_qty, report.last_px!);
    else if (report.exec_type === 'trade_bust') notional -= notionalUnits(report.last_qty, report.last_px!);
    this.settle(order, report, notional);
  }

  get(orderId: string): OrderState | undefined {
    return this.orders.get(orderId);
  }

  get size(): number {
    return this.orders.size;
  }

  *workingOrders(): IterableIterator<WorkingOrder> {
    for (const order of this.orders.values()) if (isWorking(order)) yield order;
  }

  memory(): BookMemory {
    return { orders_working: this.working, orders_finished: this.orders.size - this.working, busted_fills_held: this.bustedHeld };
  }

  accept(record: OrderRecord): ExecutionReport {
    return this.emit(this.create(record), 'new', 0, null, null, null, record);
  }

  fill(orderId: string, qty: number, px: string): ExecutionReport | BookError {
    const order = this.orders.get(orderId);
    if (!order) return 'unknown_order';
    if (!isWorking(order)) return 'not_working';
    if (qty < 1 || qty > leavesOf(order)) return 'too_much';
    return this.emit(order, qty === leavesOf(order) ? 'fill' : 'partial_fill', qty, priceText(priceUnits(px)), null, null);
  }

  /**
   * Busts an earlier fill of a working order: cum goes down by its quantity. The fill is read
   * back from the log (its exec id carries its seq); the order holds only the ids it busted.
   */
  async bust(execId: string, text: string | null = null): Promise<ExecutionReport | BookError> {
    const seq = execIdSeq(execId);
    const line = seq === 0 ? undefined : await this.log.lineAt(seq);
    const fill = line === undefined ? undefined : (JSON.parse(line) as ExecutionReport);
    if (!fill || fill.exec_id !== execId || (fill.exec_type !== 'partial_fill' && fill.exec_type !== 'fill')) return 'unknown_exec';
    const order = this.orders.get(fill.order_id);
    if (!order) return 'unknown_exec';
    if (!isWorking(order)) return 'not_working';
    if (order.busted?.has(execId)) return 'not_a_fill';
    return this.emit(order, 'trade_bust', fill.last_qty, fill.last_px, execId, text);
  }

  /** Says that a held stop order's price was reached (`px`, the price that reached it): from now on it is worked. */
  trigger(orderId: string, px: string): ExecutionReport | BookError {
    const order = this.orders.get(orderId);
    if (!order) return 'unknown_order';
    if (!isWorking(order)) return 'not_working';
    return this.emit(order, 'triggered', 0, priceText(priceUnits(px)), null, null);
  }

  /**
   * Replaces (amends) a working order, FIX cancel/replace style, atomically against the book: all
   * the changes or none. A new quantity must be above what is already filled (the cum stays, the
   * leaves become the rest); a limit price only for a type that has one; a stop price only for a
   * stop order the venue still holds (after its trigger: `already_triggered`). Changes that change
   * nothing report nothing (a repeated request: the same answer, no second report); otherwise one
   * `replaced` report carries the order as amended (its quantity, limit price, stop price and time
   * in force) and when the venue expires it now (a new time in force: gtc never, day at the close
   * after the replace; otherwise as before). Whether a new stop price is already reached is the
   * simulation's to check (Simulation.work), as for a stop newly accepted.
   */
  replace(orderId: string, changes: ReplaceChanges): ExecutionReport | 'unchanged' | ReplaceRefusal {
    const order = this.orders.get(orderId);
    if (!order) return 'unknown_order';
    if (!isWorking(order)) return 'not_working';
    const replaced = replacement(order, changes, () => this.dayExpiry?.(this.now()).toISOString() ?? null);
    if (typeof replaced === 'string') return replaced;
    return this.emit(order, 'replaced', 0, null, null, null, undefined, replaced);
  }

  /** Ends a working order for its open quantity (what was filled stays filled). */
  end(orderId: string, how: 'cancelled' | 'expired' | 'rejected', text: string | null = null): ExecutionReport | BookError {
    const order = this.orders.get(orderId);
    if (!order) return 'unknown_order';
    if (!isWorking(order)) return 'not_working';
    return this.emit(order, how, 0, null, null, text);
  }

  private create(record: OrderRecord): WorkingOrder {
    const id = record.order.id;
    const order: WorkingOrder = {
      id,
      record,
      status: 'new',
      cumQty: 0,
      notional: 0n,
      expiresAt: record.expires_at,
      firstSeq: 0,
      lastSeq: 0,
    };
    this.orders.set(id, order);
    this.working += 1;
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
    replaced?: { order: OrderRecord['order']; expiresAt: string | null },
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
    } else if (execType !== 'new' && execType !== 'triggered' && execType !== 'replaced') {
      status = execType;
    }
    const quantity = (replaced?.order ?? order.record.order).quantity;
    const seq = this.log.takeSeq();
    const report: ExecutionReport = {
      type: 'execution_report',
      seq,
      poss_dup: false,
      venue: VENUE_NAME,
      // Unique for ever: the seq is never reused by this log, the time part survives a wiped log.
      exec_id: `${seq.toString(36)}-${Date.now().toString(36)}`,
      order_id: order.id,
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
      ...(replaced && {
        order_qty: replaced.order.quantity,
        limit_price: replaced.order.limit_price,
        stop_price: replaced.order.stop_price ?? null,
        time_in_force: replaced.order.time_in_force,
        expires_at: replaced.expiresAt,
      }),
    };
    if (replaced) applyReplaced(order, report, this.dayExpiry);
    this.settle(order, report, notional);
    this.log.append(seq, reportLine(report), record ? orderLine(record) : undefined);
    this.made.set(execType, (this.made.get(execType) ?? 0) + 1);
    return report;
  }

  /** The order after its report; a finished order is kept as its state alone (orders.ts). */
  private settle(order: WorkingOrder, report: ExecutionReport, notional: bigint): void {
    order.cumQty = report.cum_qty;
    order.notional = notional;
    order.status = report.order_status;
    if (order.firstSeq === 0) order.firstSeq = report.seq;
    order.lastSeq = report.seq;
    if (report.exec_type === 'triggered') order.triggered = true;
    if (report.exec_type === 'trade_bust' && report.ref_exec_id !== null) {
      order.busted ??= new Set();
      order.busted.add(report.ref_exec_id);
      this.bustedHeld += 1;
    }
    if (VENUE_TERMINAL_STATUSES.includes(report.order_status)) {
      this.bustedHeld -= order.busted?.size ?? 0;
      this.working -= 1;
      this.orders.set(order.id, finished(order));
    }
  }
}
