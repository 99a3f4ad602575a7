import { describe, expect, it } from 'vitest';
import { applyReport, type KnownFill, type OrderAggregate, type ReportFields } from '../../domain/fills.js';
import { Sequencer } from '../../ingest/sequencer.js';

// The pure parts of ingestion: how one report changes an order (domain/fills.ts), and how a
// session's reports are kept in sequence order (ingest/sequencer.ts).
const order = (fields: Partial<OrderAggregate> = {}): OrderAggregate => ({
  id: 'o',
  status: 'placed',
  quantity: 10,
  limitPrice: '100.00',
  stopPrice: null,
  timeInForce: 'day',
  expiresAt: null,
  filledQuantity: 0,
  filledNotional: 0n,
  placedAt: '2026-12-01T10:00:00.000Z',
  filledAt: null,
  cancelledAt: null,
  expiredAt: null,
  rejectedAt: null,
  rejectedReason: null,
  ...fields,
});
const at = '2026-12-01T10:00:01.000Z';
const fill = (execId: string, qty: number, px: string, cum: number): ReportFields => ({
  exec_id: execId,
  exec_type: 'partial_fill',
  last_qty: qty,
  last_px: px,
  cum_qty: cum,
  transact_time: at,
  ref_exec_id: null,
  text: null,
});

describe('applyReport', () => {
  it("takes a stop's triggered report as an event that changes nothing of the order (it stays placed)", () => {
    const placed = order();
    const triggered = applyReport(placed, { ...fill('t', 0, '110.0000', 0), exec_type: 'triggered' }, new Map());
    expect(triggered).toMatchObject({ kind: 'applied', triggered: true, fillEvent: false, statusChange: null, terminal: null });
    if (triggered.kind !== 'applied') throw new Error();
    expect(triggered.order).toEqual(placed);
  });

  it('adds fills exactly and moves placed -> partially_filled -> filled, the last one terminal', () => {
    const fills = new Map<string, KnownFill>();
    const first = applyReport(order(), fill('a', 4, '10.0001', 4), fills);
    expect(first).toMatchObject({ kind: 'applied', statusChange: 'partially_filled', terminal: null, cumMismatch: false, fillEvent: true });
    if (first.kind !== 'applied') throw new Error();
    const second = applyReport(first.order, { ...fill('b', 6, '9.9999', 10), exec_type: 'fill' }, fills);
    expect(second).toMatchObject({ kind: 'applied', statusChange: 'filled', terminal: 'filled' });
    if (second.kind !== 'applied') throw new Error();
    expect(second.order.filledQuantity).toBe(10);
    expect(second.order.filledNotional).toBe(4n * 100_001n + 6n * 99_999n);
    expect(second.order.filledAt).toBe(at);
  });

  it('rejects a fill beyond the quantity and a bust of an unknown or busted fill; flags a cum mismatch', () => {
    const fills = new Map<string, KnownFill>();
    expect(applyReport(order({ filledQuantity: 8 }), fill('a', 3, '1', 11), fills)).toMatchObject({
      kind: 'rejected',
      reason: 'fill_beyond_quantity',
    });
    const bust = { ...fill('x', 2, '1', 0), exec_type: 'trade_bust' as const, ref_exec_id: 'nope' };
    expect(applyReport(order(), bust, fills)).toMatchObject({ kind: 'rejected', reason: 'bust_of_unknown_fill' });
    fills.set('f', { qty: 2, px: '5.5', busted: false });
    const busted = applyReport(
      order({ status: 'partially_filled', filledQuantity: 5, filledNotional: 5n * 55_000n }),
      { ...bust, ref_exec_id: 'f', cum_qty: 3 },
      fills,
    );
    expect(busted).toMatchObject({ kind: 'applied', fillEvent: true, statusChange: null, cumMismatch: false });
    if (busted.kind !== 'applied') throw new Error();
    expect(busted.order.filledNotional).toBe(3n * 55_000n);
    expect(applyReport(busted.order, { ...bust, ref_exec_id: 'f' }, fills)).toMatchObject({
      kind: 'rejected',
      reason: 'bust_of_busted_fill',
    });
    expect(applyReport(order(), fill('m', 1, '1', 5), new Map())).toMatchObject({ kind: 'applied', cumMismatch: true });
  });

  it('a terminal status never changes again, but a fill still counts; cancel keeps the filled part', () => {
    const cancel: ReportFields = { ...fill('c', 0, '1', 3), exec_type: 'cancelled', last_px: null };
    const cancelled = applyReport(order({ status: 'partially_filled', filledQuantity: 3, filledNotional: 3n }), cancel, new Map());
    expect(cancelled).toMatchObject({ kind: 'applied', statusChange: 'cancelled', terminal: 'cancelled', fillEvent: false });
    if (cancelled.kind !== 'applied') throw new Error();
    expect(cancelled.order).toMatchObject({ status: 'cancelled', filledQuantity: 3, cancelledAt: at });
    const late = applyReport(cancelled.order, fill('l', 1, '1', 4), new Map());
    expect(late).toMatchObject({ kind: 'applied', statusChange: null, terminal: null });
    if (late.kind !== 'applied') throw new Error();
    expect(late.order).toMatchObject({ status: 'cancelled', filledQuantity: 4 });
  });

  it('new: placing -> placed with placed_at; placed stays placed', () => {
    const report: ReportFields = { ...fill('n', 0, '1', 0), exec_type: 'new', last_px: null };
    expect(applyReport(order({ status: 'placing', placedAt: null }), report, new Map())).toMatchObject({
      kind: 'applied',
      statusChange: 'placed',
      order: { placedAt: at },
    });
    expect(applyReport(order(), report, new Map())).toMatchObject({ kind: 'applied', statusChange: null });
  });
});

describe('Sequencer', () => {
  it('delivers in order, drops what is below, holds what is ahead and asks for its gap once, again after the timeout', () => {
    const sequencer = new Sequencer<number>(5, 100, 1000);
    expect(sequencer.offer(4, 4, 0)).toEqual({ kind: 'duplicate', gap: null });
    expect(sequencer.offer(7, 7, 0)).toEqual({ kind: 'held', gap: { from: 5, to: 6 } });
    expect(sequencer.offer(8, 8, 0)).toEqual({ kind: 'held', gap: { from: 7, to: 7 } });
    expect(sequencer.heartbeat(9, 0)).toEqual({ from: 8, to: 8 });
    expect(sequencer.tick(500)).toBeNull();
    expect(sequencer.tick(1500)).toEqual({ from: 5, to: 8 });
    expect(sequencer.offer(6, 6, 1500)).toMatchObject({ kind: 'held' });
    expect(sequencer.offer(5, 5, 1500)).toEqual({ kind: 'deliver', items: [5, 6, 7, 8], gap: null });
    expect(sequencer.expected).toBe(9);
  });

  it('overflows instead of holding without bound', () => {
    const sequencer = new Sequencer<number>(1, 2, 1000);
    sequencer.offer(3, 3);
    sequencer.offer(4, 4);
    expect(sequencer.offer(5, 5)).toEqual({ kind: 'overflow', gap: null });
  });
});
