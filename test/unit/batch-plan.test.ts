import { describe, expect, it } from 'vitest';
import { unitsText } from '../../domain/decimal.js';
import type { KnownFill } from '../../domain/fills.js';
import type { Position } from '../../domain/positions.js';
import type { ExecutionReport } from '../../exchange/protocol.js';
import {
  type BatchReads,
  bustsOf,
  execKey,
  type FillEvent,
  type IngestItem,
  type OrderRow,
  orderIdsOf,
  planBatch,
  positionKey,
  repairsOf,
  reportsOf,
  type WritePass,
} from '../../ingest/batch-plan.js';

// The pure plan of one ingest batch (ingest/batch-plan.ts), on plain rows and reports: what is
// inserted, in which pass, which orders are updated with what, and what is kept as a reject.
const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const at = (second: number) => `2026-12-01T10:00:${String(second).padStart(2, '0')}.000Z`;

function row(id: string, fields: Partial<OrderRow> = {}): OrderRow {
  return {
    id,
    type: 'limit',
    side: 'buy',
    instrument: 'US0378331005',
    limit_price: '10.00',
    quantity: 10,
    status: 'placed',
    created_at: new Date(at(0)),
    placed_at: new Date(at(0)),
    rejected_at: null,
    rejected_reason: null,
    cancelled_at: null,
    filled_quantity: 0,
    filled_notional: '0.0000',
    filled_at: null,
    expired_at: null,
    account_id: '00000000-0000-4000-8000-00000000de00',
    status_actor: 'system',
    ...fields,
  };
}

let seq = 0;
function report(orderId: string, fields: Partial<ExecutionReport> = {}): ExecutionReport {
  seq += 1;
  return {
    type: 'execution_report',
    seq,
    poss_dup: false,
    venue: 'SIMX',
    exec_id: `E${seq}`,
    order_id: orderId,
    exec_type: 'partial_fill',
    order_status: 'partially_filled',
    side: 'buy',
    last_qty: 0,
    last_px: null,
    cum_qty: 0,
    leaves_qty: 10,
    avg_px: null,
    transact_time: at(seq % 60),
    ref_exec_id: null,
    text: null,
    ...fields,
  };
}
const fill = (orderId: string, qty: number, px: string, cum: number, fields: Partial<ExecutionReport> = {}) =>
  report(orderId, { last_qty: qty, last_px: px, cum_qty: cum, ...fields });

const item = (r: ExecutionReport, fields: Partial<IngestItem> = {}): IngestItem => ({
  seq: r.seq,
  report: r,
  reject: null,
  raw: JSON.stringify(r),
  readAt: 0,
  repair: false,
  ...fields,
});
const reads = (orders: OrderRow[], fields: Partial<BatchReads> = {}): BatchReads => ({
  orders,
  stored: new Set(),
  fills: new Map(),
  positions: new Map(),
  // No standing fills stored: a bust folds again the batch's own.
  standing: new Map(orders.map((order) => [positionKey(String(order.account_id), String(order.instrument)), []])),
  ...fields,
});
/** A pass's UPDATEs, readably: whether it sets status, and each row's changed columns by name. */
const updates = (pass: WritePass) =>
  pass.updates.map((update) => ({
    status: update.setsStatus,
    rows: update.ids.map((id, r) => ({
      id,
      ...(update.setsStatus ? { status: update.statuses[r] } : {}),
      ...Object.fromEntries(update.columns.map((column, c) => [column.name, update.values[c]![r]])),
    })),
  }));
const states = (fills: FillEvent[]) =>
  fills.map((f) => ({
    status: f.order.status,
    filled_quantity: f.order.filledQuantity,
    filled_notional: unitsText(f.order.filledNotional, 4),
    placed_at: f.order.placedAt,
    filled_at: f.order.filledAt,
    cancelled_at: f.order.cancelledAt,
    expired_at: f.order.expiredAt,
    rejected_at: f.order.rejectedAt,
    rejected_reason: f.order.rejectedReason,
    expires_at: f.expiresAt,
  }));

describe('planBatch', () => {
  it("a stop's triggered report: stored, one `triggered` stream row between its fills, no status change of its own", () => {
    const reports = [
      report(A, { exec_type: 'triggered', order_status: 'new', last_px: '110.0000' }),
      fill(A, 4, '110.0000', 4),
      fill(A, 6, '110.0000', 10, { exec_type: 'fill', order_status: 'filled' }),
    ];
    const plan = planBatch(
      reports.map((r) => item(r)),
      reads([row(A)]),
    );
    expect(plan.executions).toEqual(reports);
    expect(plan.result).toMatchObject({ applied: 3, rejects: [] });
    const rows = plan.passes.flatMap((pass) => pass.fills);
    expect(rows.map((event) => [event.kind, event.report.exec_type, event.order.status])).toEqual([
      ['triggered', 'triggered', 'placed'],
      ['fill', 'partial_fill', 'partially_filled'],
      ['fill', 'fill', 'filled'],
    ]);
  });

  it('a market order in one batch: a pass per status it goes through, each pass its fills before its update', () => {
    const reports = [
      report(A, { exec_type: 'new', order_status: 'new' }),
      fill(A, 3, '187.2533', 3),
      fill(A, 7, '187.2533', 10, { exec_type: 'fill', order_status: 'filled' }),
    ];
    const plan = planBatch(
      reports.map((r) => item(r)),
      reads([row(A, { status: 'placing', placed_at: null })]),
    );
    expect(plan.executions).toEqual(reports);
    expect(plan.result).toEqual({ applied: 3, duplicates: 0, rejects: [], terminals: 1 });
    expect(plan.terminals).toEqual([{ orderId: A, status: 'filled', filledQuantity: 10 }]);
    expect(plan.passes.map((p) => p.fills.length)).toEqual([0, 1, 1]);
    // Each UPDATE sets status and only the columns that changed with it.
    expect(plan.passes.map(updates)).toEqual([
      [{ status: true, rows: [{ id: A, status: 'placed', placed_at: reports[0]!.transact_time }] }],
      [{ status: true, rows: [{ id: A, status: 'partially_filled', filled_quantity: 3, filled_notional: '561.7599' }] }],
      [
        {
          status: true,
          rows: [{ id: A, status: 'filled', filled_quantity: 10, filled_notional: '1872.5330', filled_at: reports[2]!.transact_time }],
        },
      ],
    ]);
    // Each fill event carries the fields of the row a fill can change, as they stood after the fill
    // (not the whole row: the reader joins the order's fixed fields), and its report (the row names its execution).
    const [afterFirst] = states(plan.passes[1]!.fills);
    expect(afterFirst).toEqual({
      status: 'partially_filled',
      filled_quantity: 3,
      filled_notional: '561.7599',
      placed_at: reports[0]!.transact_time,
      filled_at: null,
      cancelled_at: null,
      expired_at: null,
      rejected_at: null,
      rejected_reason: null,
      expires_at: null,
    });
    expect(plan.passes[2]!.fills[0]!.report).toBe(reports[2]);
  });

  it('fills after a status change are a pass of their own: the status event comes before them', () => {
    const plan = planBatch(
      [fill(A, 1, '10', 1), fill(A, 1, '11', 2), fill(B, 2, '10', 2), fill(A, 1, '12', 3)].map((r) => item(r)),
      reads([row(A), row(B, { status: 'partially_filled', filled_quantity: 5, filled_notional: '50.0000' })]),
    );
    expect(plan.passes).toHaveLength(2);
    // Pass 0: A's first fill and its status; B's fill, no status change: a fill's UPDATE sets two columns.
    expect(plan.passes[0]!.fills.map((f) => f.orderId)).toEqual([A, B]);
    expect(updates(plan.passes[0]!)).toEqual([
      { status: true, rows: [{ id: A, status: 'partially_filled', filled_quantity: 1, filled_notional: '10.0000' }] },
      { status: false, rows: [{ id: B, filled_quantity: 7, filled_notional: '70.0000' }] },
    ]);
    // Pass 1: A's two later fills, then its row at the end of the batch.
    expect(states(plan.passes[1]!.fills).map((s) => s.filled_quantity)).toEqual([2, 3]);
    expect(updates(plan.passes[1]!)).toEqual([{ status: false, rows: [{ id: A, filled_quantity: 3, filled_notional: '33.0000' }] }]);
  });

  it('one statement per kind of update: the columns any row changed, the others’ values as read; no UPDATE for a row nothing changed', () => {
    const placedAt = new Date(at(0));
    const plan = planBatch(
      [
        report(A, { exec_type: 'new', order_status: 'new' }),
        report(B, { exec_type: 'cancelled', order_status: 'cancelled', cum_qty: 2 }),
        report(C, { exec_type: 'new', order_status: 'new' }),
      ].map((r) => item(r)),
      reads([
        row(A, { status: 'placing', placed_at: null }),
        row(B, { status: 'partially_filled', filled_quantity: 2, filled_notional: '20.0000', placed_at: placedAt }),
        row(C),
      ]),
    );
    const cancelledAt = plan.executions[1]!.transact_time;
    expect(plan.passes.map(updates)).toEqual([
      [
        {
          status: true,
          rows: [
            { id: A, status: 'placed', placed_at: plan.executions[0]!.transact_time, cancelled_at: null },
            { id: B, status: 'cancelled', placed_at: placedAt.toISOString(), cancelled_at: cancelledAt },
          ],
        },
      ],
    ]);
    // C was placed already: its `new` changed nothing, and a late cancel of a cancelled order changes nothing either.
    const late = planBatch(
      [item(report(B, { exec_type: 'cancelled', order_status: 'cancelled', cum_qty: 2 }))],
      reads([row(B, { status: 'cancelled', filled_quantity: 2, filled_notional: '20.0000', cancelled_at: new Date(at(5)) })]),
    );
    expect(late.result.applied).toBe(1);
    expect(late.passes.map(updates)).toEqual([[]]);
  });

  it('a replaced report sets the amended columns, stop_price and expires_at too; another row of its statement keeps its own (an ioc one its time in force)', () => {
    const dayClose = '2030-01-01T21:00:00.000Z';
    const plan = planBatch(
      [
        report(A, {
          exec_type: 'replaced',
          order_status: 'new',
          order_qty: 10,
          limit_price: '10.0000',
          stop_price: '12.5000',
          time_in_force: 'day',
          expires_at: dayClose,
        }),
        fill(B, 1, '10.00', 3),
        fill(A, 3, '12.50', 3),
      ].map((r) => item(r)),
      reads([
        row(A, { type: 'stop_limit', stop_price: '12.00', time_in_force: 'gtc', expires_at: null }),
        row(B, { status: 'partially_filled', filled_quantity: 2, filled_notional: '20.0000', time_in_force: 'ioc', expires_at: null }),
      ]),
    );
    const [first] = plan.passes;
    // One quiet UPDATE (no status changes): A amended, B filled; each row's amended columns its own.
    expect(updates(first!)).toMatchObject([
      {
        status: false,
        rows: [
          { id: A, stop_price: '12.50', time_in_force: 'day', expires_at: dayClose, filled_quantity: 0 },
          { id: B, stop_price: null, time_in_force: 'ioc', expires_at: null, filled_quantity: 3 },
        ],
      },
    ]);
    expect(first!.amends).toEqual([{ orderId: A, reason: 'amended: stop_price 12.00 -> 12.50, time_in_force gtc -> day' }]);
    // A's fill after the amend: its stream row carries the new expiry.
    const fills = plan.passes.flatMap((pass) => pass.fills).filter((f) => f.orderId === A);
    expect(fills.map((f) => f.expiresAt)).toEqual([dayClose]);
  });

  it('drops exec ids stored or repeated; keeps bad lines, unknown orders, refused reports and cum mismatches as rejects', () => {
    const stored = fill(A, 1, '10', 1);
    const good = fill(A, 2, '10', 2);
    const unknown = fill(B, 1, '10', 1);
    const beyond = fill(A, 20, '10', 22);
    const mismatch = fill(A, 1, '10', 9);
    const bad: IngestItem = {
      seq: 99,
      report: null,
      reject: { reason: 'malformed', detail: 'not JSON' },
      raw: '{',
      readAt: 0,
      repair: false,
    };
    const plan = planBatch(
      [item(stored), item(good), item(good), bad, item(unknown), item(beyond), item(mismatch)],
      reads([row(A)], { stored: new Set([execKey('SIMX', stored.exec_id)]) }),
    );
    expect(plan.result.duplicates).toBe(2);
    expect(plan.result.applied).toBe(2);
    expect(plan.executions).toEqual([good, mismatch]);
    expect(plan.rejects.map((r) => [r.seq, r.reason])).toEqual([
      [99, 'malformed'],
      [unknown.seq, 'unknown_order'],
      [beyond.seq, 'fill_beyond_quantity'],
      [mismatch.seq, 'cum_qty_mismatch'],
    ]);
    expect(plan.result.rejects.map((r) => [r.reason, r.orderId])).toEqual([
      ['malformed', null],
      ['unknown_order', B],
      ['fill_beyond_quantity', A],
      ['cum_qty_mismatch', A],
    ]);
    expect([...plan.mismatched]).toEqual([[A, mismatch.seq]]);
  });

  it('a repair resend adds only new exec ids and is never a reject again', () => {
    const lost = fill(A, 1, '10', 1);
    const mismatch = fill(A, 1, '10', 5);
    const plan = planBatch([item(lost, { repair: true }), item(mismatch, { repair: true })], reads([row(A)]));
    expect(plan.executions).toEqual([lost, mismatch]);
    expect(plan.rejects).toEqual([]);
    expect(plan.mismatched.size).toBe(0);
  });

  it('a bust takes back the stored fill it names, once; the reads are left as read', () => {
    const fills = new Map([[A, new Map<string, KnownFill>([['F1', { qty: 3, px: '10.5', busted: false }]])]]);
    const bust = report(A, { exec_type: 'trade_bust', ref_exec_id: 'F1', last_qty: 3, last_px: '10.5', cum_qty: 2 });
    const again = report(A, { exec_type: 'trade_bust', ref_exec_id: 'F1', last_qty: 3, last_px: '10.5', cum_qty: 2 });
    const plan = planBatch(
      [item(bust), item(again)],
      reads([row(A, { status: 'partially_filled', filled_quantity: 5, filled_notional: '52.5000' })], { fills }),
    );
    expect(plan.executions).toEqual([bust]);
    expect(plan.rejects.map((r) => r.reason)).toEqual(['bust_of_busted_fill']);
    expect(updates(plan.passes[0]!)).toEqual([{ status: false, rows: [{ id: A, filled_quantity: 2, filled_notional: '21.0000' }] }]);
    expect(plan.passes[0]!.fills[0]!.report).toBe(bust);
    expect(fills.get(A)!.get('F1')!.busted).toBe(false);
  });
});

describe('what the store reads for a plan', () => {
  it('locks the reports\u2019 orders once each in id order; reads the fills that busts name', () => {
    const reports = [fill(B, 1, '1', 1), fill(A, 1, '1', 1), fill(B, 1, '1', 2), report(A, { exec_type: 'trade_bust', ref_exec_id: 'X' })];
    const items = [...reports.map((r) => item(r)), { ...item(reports[0]!), report: null }];
    expect(reportsOf(items)).toEqual(reports);
    expect(orderIdsOf(reports)).toEqual([A, B]);
    expect(bustsOf(reports)).toEqual([reports[3]]);
  });

  it('repairs run from the order\u2019s first stored seq to the mismatched report', () => {
    expect(
      repairsOf(
        new Map([
          [A, 9],
          [B, 4],
        ]),
        new Map([[A, 2]]),
      ),
    ).toEqual([
      { orderId: A, from: 2, to: 9 },
      { orderId: B, from: 4, to: 4 },
    ]);
  });
});

describe("a batch's positions", () => {
  const ACCOUNT = '00000000-0000-4000-8000-00000000de00';
  const KEY = positionKey(ACCOUNT, 'US0378331005');
  const money = (position: Position) => ({
    quantity: position.quantity,
    average: unitsText(position.averageEntryPrice, 6),
    pnl: unitsText(position.realizedPnl, 6),
  });

  it("folds every applied fill of the account's orders in the instrument, in seq order; a duplicate or a reject changes nothing", () => {
    const buy = fill(A, 4, '10.00', 4);
    const sell = fill(B, 6, '11.00', 6);
    const duplicate = { ...buy };
    const beyond = fill(A, 50, '1.00', 54);
    const plan = planBatch(
      [item(buy), item(sell), item(duplicate), item(beyond)],
      reads([row(A), row(B, { side: 'sell' })], { positions: new Map() }),
    );
    const events = plan.passes.flatMap((pass) => pass.fills);
    // The events of a pass are by order: A's then B's, each with the position right after its own fill.
    expect(events.map((event) => [event.report.exec_id, money(event.position!)])).toEqual([
      [buy.exec_id, { quantity: 4, average: '10.000000', pnl: '0.000000' }],
      [sell.exec_id, { quantity: -2, average: '11.000000', pnl: '4.000000' }],
    ]);
    expect(plan.positions).toHaveLength(1);
    expect(plan.positions[0]).toMatchObject({ accountId: ACCOUNT, instrument: 'US0378331005', stored: false });
    expect(money(plan.positions[0]!.position)).toEqual({ quantity: -2, average: '11.000000', pnl: '4.000000' });
    expect(plan.positions[0]!.position.updatedAt).toBe(sell.transact_time);
  });

  it('starts from the stored position, and writes none when no fill applied', () => {
    const stored: Position = { quantity: 10, averageEntryPrice: 9_500_000n, realizedPnl: 1n, updatedAt: at(0) };
    const plan = planBatch([item(fill(A, 2, '10.50', 2))], reads([row(A)], { positions: new Map([[KEY, stored]]) }));
    expect(plan.positions[0]).toMatchObject({ stored: true });
    expect(money(plan.positions[0]!.position)).toEqual({ quantity: 12, average: '9.666667', pnl: '0.000001' });
    const quiet = planBatch([item(report(A, { exec_type: 'new', order_status: 'new' }))], reads([row(A)]));
    expect(quiet.positions).toEqual([]);
  });

  it('a bust folds the standing fills again, stored and of the batch, without the busted one', () => {
    const storedFill = (side: 'buy' | 'sell', quantity: number, price: string, execId: string) => ({
      key: execKey('SIMX', execId),
      fill: { side, quantity, price, at: at(1) },
    });
    // Stored: A bought 10 @ 10 (S1), B sold 4 @ 12 (S2); the position is 6 @ 10, 8 realised.
    const standing = new Map([[KEY, [storedFill('buy', 10, '10', 'S1'), storedFill('sell', 4, '12', 'S2')]]]);
    const stored: Position = { quantity: 6, averageEntryPrice: 10_000_000n, realizedPnl: 8_000_000n, updatedAt: at(1) };
    const fills = new Map([[A, new Map<string, KnownFill>([['S1', { qty: 10, px: '10', busted: false }]])]]);
    const later = fill(A, 2, '13.00', 12);
    const bust = report(A, { exec_type: 'trade_bust', ref_exec_id: 'S1', last_qty: 10, last_px: '10', cum_qty: 2 });
    const plan = planBatch(
      [item(later), item(bust)],
      reads([row(A, { filled_quantity: 10, filled_notional: '100.0000', quantity: 20 }), row(B, { side: 'sell' })], {
        fills,
        standing,
        positions: new Map([[KEY, stored]]),
      }),
    );
    const events = plan.passes.flatMap((pass) => pass.fills);
    expect(money(events[0]!.position!)).toEqual({ quantity: 8, average: '10.750000', pnl: '8.000000' });
    // Without S1: sold 4 @ 12 (short 4 @ 12), then bought 2 @ 13: short 2, (12 − 13) × 2 realised.
    expect(money(events[1]!.position!)).toEqual({ quantity: -2, average: '12.000000', pnl: '-2.000000' });
    expect(events[1]!.position!.updatedAt).toBe(bust.transact_time);
    expect(money(plan.positions[0]!.position)).toEqual({ quantity: -2, average: '12.000000', pnl: '-2.000000' });
  });
});
