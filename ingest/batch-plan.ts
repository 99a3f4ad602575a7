import { decimalUnits, unitsText } from '../domain/decimal.js';
import { applyReport, type KnownFill, type OrderAggregate, REJECT_REASONS, type RejectReason } from '../domain/fills.js';
import { type FinalStatus, type OrderSide, type OrderStatus, TIME_IN_FORCE, type TimeInForce } from '../domain/order.js';
import { applyFill, FLAT, type Position, type PositionFill, positionOf } from '../domain/positions.js';
import type { ExecutionReport } from '../exchange/protocol.js';

/**
 * What one batch writes, worked out from what its transaction read (docs/executions.md,
 * "Batches"): pure, so the store (ingest/batch-writer.ts) only fences, locks, reads, and runs
 * the plan's statements. The reports are folded onto their orders in seq order with
 * domain/fills.ts; each order's states are cut at every status change it goes through, so that
 * the orders trigger records each status after the fills that led to it.
 */

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
  /** The report's executions row in COPY's text format, made when the line was read (ingest/batch-rows.ts). */
  executionLine?: string;
}

export interface RejectOutcome {
  reason: RejectReason;
  seq: number | null;
  orderId: string | null;
  detail: string;
}

export interface Repair {
  orderId: string;
  from: number;
  to: number;
}

export interface BatchResult {
  applied: number;
  duplicates: number;
  rejects: RejectOutcome[];
  /** Ranges to ask the venue again for (a cum mismatch), by order. */
  repairs: Repair[];
  terminals: number;
}

/** The columns of an orders row the plan reads (ORDER_READ_COLUMNS), by name. */
export type OrderRow = Record<string, unknown>;

/** What the batch's transaction read under its locks. */
export interface BatchReads {
  /** The batch's orders, locked. */
  orders: OrderRow[];
  /** The batch's exec ids already stored (execKey). */
  stored: ReadonlySet<string>;
  /** The stored fills the batch's busts refer to (and whether busted), by order then exec id. */
  fills: Map<string, Map<string, KnownFill>>;
  /** The positions of the batch's fills and busts (positionKeysOf), as stored and locked; a key not here was never traded. */
  positions: Map<string, Position>;
  /** The standing fills of each position a bust of the batch touches (bustPositionKeysOf), in executions order. */
  standing: Map<string, LedgerFill[]>;
}

/** A standing fill of a position: its execution (execKey) and what it adds. */
export interface LedgerFill {
  key: string;
  fill: PositionFill;
}

/** The key of a position in `BatchReads.positions`: an account and an instrument. */
export const positionKey = (accountId: string, instrument: string): string => `${accountId}\u0000${instrument}`;

/** A position the batch changed, as it stands after the batch. */
export interface PositionWrite {
  accountId: string;
  instrument: string;
  position: Position;
  /** Its row was read (UPDATE); otherwise the batch opens it (INSERT). */
  stored: boolean;
}

/**
 * A `fill` row of order_stream (migration …_order_stream_fill_columns): the order's changeable
 * fields as they stand after the fill (`order`, and `expiresAt`), and the fill's report, whose
 * executions row the row names by id. Plain columns, no JSON. A stop's `triggered` report makes
 * a row of the same shape, of kind `triggered`.
 */
export interface FillEvent {
  /** The row's kind: `fill` (a fill or a bust), or `triggered`. */
  kind: 'fill' | 'triggered';
  orderId: string;
  /** The order's account: GET /events routes and catches up by it (the row's own column). */
  accountId: string;
  /** The fill's report: the row names its executions row. */
  report: ExecutionReport;
  order: OrderAggregate;
  /** expires_at of the order as read: the workflow's markPlaced may set it after the venue's reports were ingested. */
  expiresAt: string | null;
  /** The position of the order's account in its instrument after the fill (or bust); null for a stop's trigger (no position change). */
  position: Position | null;
}

/**
 * A venue's `replaced` report applied: after its order's row is updated, one row of order_events
 * (the order's status, `reason` saying what changed, the actor who asked) and one `amended` row
 * of order_stream (the order as amended).
 */
export interface AmendEvent {
  orderId: string;
  reason: string;
}

/** One write pass: every order's next segment, its fills inserted before its row is updated. */
export interface WritePass {
  fills: FillEvent[];
  /** The status update (if any order's status changes in this pass) first, then the quiet one. */
  updates: OrderUpdate[];
  /** Amends that end a segment of this pass: recorded after the updates. */
  amends: AmendEvent[];
}

/** The orders columns the fold changes besides status: the table's names and types, and each one's value. */
export const ORDER_COLUMNS = [
  { name: 'filled_quantity', type: 'int', of: (o: OrderAggregate) => o.filledQuantity },
  { name: 'filled_notional', type: 'numeric', of: (o: OrderAggregate) => unitsText(o.filledNotional, 4) },
  { name: 'placed_at', type: 'timestamptz', of: (o: OrderAggregate) => o.placedAt },
  { name: 'filled_at', type: 'timestamptz', of: (o: OrderAggregate) => o.filledAt },
  { name: 'cancelled_at', type: 'timestamptz', of: (o: OrderAggregate) => o.cancelledAt },
  { name: 'expired_at', type: 'timestamptz', of: (o: OrderAggregate) => o.expiredAt },
  { name: 'rejected_at', type: 'timestamptz', of: (o: OrderAggregate) => o.rejectedAt },
  { name: 'rejected_reason', type: 'text', of: (o: OrderAggregate) => o.rejectedReason },
  // What a venue's `replaced` report amends.
  { name: 'quantity', type: 'int', of: (o: OrderAggregate) => o.quantity },
  { name: 'limit_price', type: 'numeric', of: (o: OrderAggregate) => o.limitPrice },
  { name: 'stop_price', type: 'numeric', of: (o: OrderAggregate) => o.stopPrice },
  { name: 'time_in_force', type: '"TimeInForce"', of: (o: OrderAggregate) => o.timeInForce },
  { name: 'expires_at', type: 'timestamptz', of: (o: OrderAggregate) => o.expiresAt },
] as const;
export type OrderColumn = (typeof ORDER_COLUMNS)[number];

/**
 * One UPDATE of orders (unnest arrays): the columns any of its orders changed, each row's value
 * for each (a row that did not change one gets its value as read: the rows are locked).
 */
export interface OrderUpdate {
  /** Sets status (and status_actor), so the trigger records the change; the other statement leaves status alone. */
  setsStatus: boolean;
  ids: string[];
  /** Each row's status, when the statement sets it. */
  statuses: OrderStatus[];
  columns: OrderColumn[];
  /** values[c][r]: column c of row r. */
  values: (string | number | null)[][];
}

export interface TerminalRow {
  orderId: string;
  status: FinalStatus;
  filledQuantity: number;
}

export interface RejectRow {
  seq: number | null;
  reason: RejectReason;
  raw: string;
}

export interface BatchPlan {
  /** The reports to insert, in seq order. */
  executions: ExecutionReport[];
  passes: WritePass[];
  terminals: TerminalRow[];
  /** Rows of execution_rejects. */
  rejects: RejectRow[];
  /** Orders whose cum disagreed with their fills: the highest such seq (where the repair's range ends). */
  mismatched: Map<string, number>;
  /** The positions the batch's fills and busts changed, in key order. */
  positions: PositionWrite[];
  result: Omit<BatchResult, 'repairs'>;
}

/** The key of a report in `BatchReads.stored`. */
export const execKey = (venue: string, execId: string): string => `${venue}\u0000${execId}`;

/** The batch's reports (the lines that parsed as one). */
export const reportsOf = (items: readonly IngestItem[]): ExecutionReport[] =>
  items.flatMap((item) => (item.report === null ? [] : [item.report]));

/** The orders to lock, distinct, in id order (every batch locks in the same order: no deadlock). */
export const orderIdsOf = (reports: readonly ExecutionReport[]): string[] => [...new Set(reports.map((report) => report.order_id))].sort();

/** The batch's busts that name the fill they cancel (their fills are read from the table). */
export const bustsOf = (reports: readonly ExecutionReport[]): ExecutionReport[] =>
  reports.filter((report) => report.exec_type === 'trade_bust' && report.ref_exec_id);

const POSITION_TYPES: readonly string[] = ['partial_fill', 'fill', 'trade_bust'];

/** The position keys of the locked orders that have a report here that may change a position (a fill or a bust), sorted. */
export function positionKeysOf(reports: readonly ExecutionReport[], orders: readonly OrderRow[]): string[] {
  return keysOf(
    reports.filter((report) => POSITION_TYPES.includes(report.exec_type)),
    orders,
  );
}

/** The position keys of the batch's busts' orders: their standing fills are read, a bust folds them again. */
export function bustPositionKeysOf(reports: readonly ExecutionReport[], orders: readonly OrderRow[]): string[] {
  return keysOf(bustsOf(reports), orders);
}

function keysOf(reports: readonly ExecutionReport[], orders: readonly OrderRow[]): string[] {
  const ids = new Set(reports.map((report) => report.order_id));
  const keys = orders.filter((row) => ids.has(String(row.id))).map((row) => positionKey(String(row.account_id), String(row.instrument)));
  return [...new Set(keys)].sort();
}

const isoOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : String(value);

/** The part of a locked orders row the fold changes. */
export function aggregateOf(row: OrderRow): OrderAggregate {
  return {
    id: String(row.id),
    status: row.status as OrderStatus,
    quantity: Number(row.quantity),
    limitPrice: (row.limit_price as string | null) ?? null,
    stopPrice: (row.stop_price as string | null | undefined) ?? null,
    timeInForce: TIME_IN_FORCE.includes(row.time_in_force as TimeInForce) ? (row.time_in_force as TimeInForce) : 'day',
    expiresAt: isoOrNull(row.expires_at),
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

/** An order's states after its reports in this batch, cut at each status change. */
interface Segment {
  fills: FillEvent[];
  end: OrderAggregate;
  statusChanged: boolean;
  /** The segment ends with an amend (its event is written once the row stands as amended). */
  amend: AmendEvent | null;
}

interface OrderFold {
  row: OrderRow;
  position: PositionFold;
  /** As read; `aggregate` is as folded so far. */
  read: OrderAggregate;
  aggregate: OrderAggregate;
  fills: Map<string, KnownFill>;
  segments: Segment[];
}

/** One position as the batch folds it: incrementally, and from its standing fills when a bust of the batch touches it. */
interface PositionFold {
  accountId: string;
  instrument: string;
  stored: boolean;
  position: Position;
  changed: boolean;
  /** Its standing fills, this batch's included: only for a position a bust of the batch touches. */
  ledger: LedgerFill[] | null;
}

/**
 * Folds the batch's items onto their orders, in the order given (seq order): a line that did not
 * parse, a report of an order not found, and a report the fold refuses are rejects (a repair's
 * resend only adds exec ids not stored: its other lines were judged before); an exec id stored
 * or already in the batch is a duplicate.
 */
export function planBatch(items: readonly IngestItem[], reads: BatchReads): BatchPlan {
  const result: BatchPlan['result'] = { applied: 0, duplicates: 0, rejects: [], terminals: 0 };
  const orders = new Map<string, OrderFold>();
  const positions = new Map<string, PositionFold>();
  for (const row of reads.orders) {
    const aggregate = aggregateOf(row);
    // A copy: the fold marks busted fills, and the reads stay as read.
    const fills = new Map([...(reads.fills.get(aggregate.id) ?? [])].map(([execId, fill]) => [execId, { ...fill }]));
    const accountId = String(row.account_id);
    const instrument = String(row.instrument);
    const key = positionKey(accountId, instrument);
    let position = positions.get(key);
    if (!position) {
      const stored = reads.positions.get(key);
      const standing = reads.standing.get(key);
      position = {
        accountId,
        instrument,
        stored: stored !== undefined,
        position: stored ?? FLAT,
        changed: false,
        ledger: standing ? [...standing] : null,
      };
      positions.set(key, position);
    }
    orders.set(aggregate.id, { row, position, read: aggregate, aggregate, fills, segments: [] });
  }
  const executions: ExecutionReport[] = [];
  const rejects: RejectRow[] = [];
  const terminals: TerminalRow[] = [];
  const mismatched = new Map<string, number>();
  const seen = new Set<string>();
  const reject = (item: IngestItem, reason: RejectReason, detail: string, orderId: string | null) => {
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
    const key = execKey(report.venue, report.exec_id);
    if (reads.stored.has(key) || seen.has(key)) {
      result.duplicates += 1;
      continue;
    }
    seen.add(key);
    const order = orders.get(report.order_id);
    if (!order) {
      reject(item, REJECT_REASONS.unknownOrder, `no order ${report.order_id}`, report.order_id);
      continue;
    }
    const outcome = applyReport(order.aggregate, report, order.fills);
    if (outcome.kind === 'rejected') {
      reject(item, outcome.reason, outcome.detail, report.order_id);
      continue;
    }
    result.applied += 1;
    executions.push(report);
    order.aggregate = outcome.order;
    let segment = order.segments.at(-1);
    if (!segment || segment.statusChanged || segment.amend) {
      segment = { fills: [], end: outcome.order, statusChanged: false, amend: null };
      order.segments.push(segment);
    }
    if (outcome.fillEvent || outcome.triggered) {
      if (outcome.fillEvent) applyToPosition(order, report);
      segment.fills.push({
        kind: outcome.triggered ? 'triggered' : 'fill',
        orderId: report.order_id,
        accountId: String(order.row.account_id),
        report,
        order: outcome.order,
        expiresAt: outcome.order.expiresAt,
        position: outcome.fillEvent ? order.position.position : null,
      });
    }
    segment.end = outcome.order;
    if (outcome.statusChange) segment.statusChanged = true;
    if (outcome.amended) segment.amend = { orderId: report.order_id, reason: outcome.amended };
    if (outcome.terminal)
      terminals.push({ orderId: report.order_id, status: outcome.terminal, filledQuantity: outcome.order.filledQuantity });
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
  result.terminals = terminals.length;
  return { executions, passes: passesOf([...orders.values()]), terminals, rejects, mismatched, positions: writesOf(positions), result };
}

/**
 * A fill or bust the fold applied, on its order's position: a fill adds to it; a bust takes its
 * fill out of the standing ones and folds them again (docs/positions.md: once later fills moved
 * the average, no step undoes one fill exactly).
 */
function applyToPosition(order: OrderFold, report: ExecutionReport): void {
  const fold = order.position;
  fold.changed = true;
  if (report.exec_type === 'trade_bust') {
    const busted = execKey(report.venue, report.ref_exec_id ?? '');
    // bustPositionKeysOf read the standing fills of every position a bust of the batch touches.
    if (!fold.ledger) throw new Error(`bust ${report.exec_id}: the standing fills of its position were not read`);
    fold.ledger = fold.ledger.filter((entry) => entry.key !== busted);
    fold.position = positionOf(
      fold.ledger.map((entry) => entry.fill),
      report.transact_time,
    );
    return;
  }
  const fill: PositionFill = {
    side: order.row.side as OrderSide,
    quantity: report.last_qty,
    price: report.last_px ?? '',
    at: report.transact_time,
  };
  fold.ledger?.push({ key: execKey(report.venue, report.exec_id), fill });
  fold.position = applyFill(fold.position, fill);
}

function writesOf(positions: ReadonlyMap<string, PositionFold>): PositionWrite[] {
  return [...positions]
    .filter(([, fold]) => fold.changed)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, fold]) => ({ accountId: fold.accountId, instrument: fold.instrument, position: fold.position, stored: fold.stored }));
}

/**
 * Pass i writes every order's i-th segment: its fill events, then its row as at the segment's
 * end, with only the columns that changed since the previous segment (or since it was read). An
 * order whose segment changed nothing (a report that moved neither status nor quantities) is not
 * updated. Orders are taken in lock (id) order.
 */
function passesOf(orders: OrderFold[]): WritePass[] {
  const passes: { fills: FillEvent[]; changed: Change[]; quiet: Change[]; amends: AmendEvent[] }[] = [];
  for (const order of orders) {
    let before = order.read;
    order.segments.forEach((segment, index) => {
      if (passes.length === index) passes.push({ fills: [], changed: [], quiet: [], amends: [] });
      const pass = passes[index]!;
      for (const fill of segment.fills) pass.fills.push(fill);
      const columns = ORDER_COLUMNS.filter((column) => column.of(segment.end) !== column.of(before));
      if (segment.statusChanged) pass.changed.push({ order: segment.end, columns });
      else if (columns.length > 0) pass.quiet.push({ order: segment.end, columns });
      if (segment.amend) pass.amends.push(segment.amend);
      before = segment.end;
    });
  }
  return passes.map((pass) => ({
    fills: pass.fills,
    updates: [updateOf(pass.changed, true), updateOf(pass.quiet, false)].filter((update) => update !== null),
    amends: pass.amends,
  }));
}

interface Change {
  order: OrderAggregate;
  columns: readonly OrderColumn[];
}

function updateOf(changes: Change[], setsStatus: boolean): OrderUpdate | null {
  if (changes.length === 0) return null;
  const changed = new Set(changes.flatMap((change) => change.columns));
  const columns = ORDER_COLUMNS.filter((column) => changed.has(column));
  return {
    setsStatus,
    ids: changes.map((change) => change.order.id),
    statuses: setsStatus ? changes.map((change) => change.order.status) : [],
    columns,
    values: columns.map((column) => changes.map((change) => column.of(change.order))),
  };
}

/** The ranges to ask again for: from the order's first stored seq (when it has one below) to its mismatched report. */
export function repairsOf(mismatched: ReadonlyMap<string, number>, firstStored: ReadonlyMap<string, number>): Repair[] {
  return [...mismatched].map(([orderId, to]) => ({ orderId, from: Math.min(firstStored.get(orderId) ?? to, to), to }));
}
