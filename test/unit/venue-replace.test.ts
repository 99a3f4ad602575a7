import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyReport, type KnownFill, type OrderAggregate } from '../../domain/fills.js';
import { executionReport, type VenueOrder } from '../../exchange/protocol.js';
import { Book } from '../../exchange/venue/book.js';
import type { OrderRecord } from '../../exchange/venue/log-lines.js';
import { orderView } from '../../exchange/venue/order-view.js';
import { isWorking, leavesOf } from '../../exchange/venue/orders.js';
import { openReportLog, type ReportLog } from '../../exchange/venue/report-log.js';

// Amend at the venue (issue #26): Book.replace applies a cancel/replace atomically against the
// book (a new quantity above the cum, a limit only for a limit order, all or nothing), reports it
// once as `replaced` with the order as amended, survives a restart (the log's replay), and the
// ingestion's fold applies it to the order's quantity, limit and time in force.
const dirs: string[] = [];
const logs: ReportLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const DAY_CLOSE = new Date('2030-01-01T21:00:00.000Z');

async function open(dir: string) {
  let log: ReportLog | undefined;
  const book = new Book(
    {
      takeSeq: () => log!.takeSeq(),
      append: (seq, line, orderLine) => log!.append(seq, line, orderLine),
      lineAt: (seq) => log!.lineAt(seq),
    },
    undefined,
    () => DAY_CLOSE,
  );
  log = await openReportLog(dir, { flushMs: 0, replay: (entry) => book.replay(entry) });
  logs.push(log);
  return { book, log };
}

const order = (fields: Partial<VenueOrder> = {}): OrderRecord => ({
  order: {
    id: randomUUID(),
    type: 'limit',
    side: 'buy',
    instrument: 'TESTREF00001',
    limit_price: '10.00',
    quantity: 10,
    time_in_force: 'gtc',
    ...fields,
  },
  accepted_at: new Date().toISOString(),
  expires_at: null,
});

describe('Book.replace', () => {
  it('amends quantity, limit and time in force at once; cum and fills stay; one replaced report', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'venue-replace-'));
    dirs.push(dir);
    const { book, log } = await open(dir);
    const rec = order();
    book.accept(rec);
    book.fill(rec.order.id, 4, '10.00');
    const report = book.replace(rec.order.id, { quantity: 20, limitPrice: '10.5', timeInForce: 'day' });
    if (typeof report === 'string') throw new Error(report);
    expect(executionReport.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
    expect(report).toMatchObject({
      exec_type: 'replaced',
      order_status: 'partially_filled',
      last_qty: 0,
      cum_qty: 4,
      leaves_qty: 16,
      order_qty: 20,
      limit_price: '10.5000',
      time_in_force: 'day',
    });
    const state = book.get(rec.order.id)!;
    expect(isWorking(state) && state.record.order.quantity).toBe(20);
    expect(state.expiresAt).toBe(DAY_CLOSE.toISOString());
    expect(leavesOf(state)).toBe(16);
    // The same request again changes nothing and reports nothing.
    expect(book.replace(rec.order.id, { quantity: 20 })).toBe('unchanged');
    // Fills go on against the new quantity: 16 more is a fill (filled), 17 would be too much.
    expect(book.fill(rec.order.id, 17, '10.00')).toBe('too_much');
    const fill = book.fill(rec.order.id, 16, '10.00');
    expect(typeof fill !== 'string' && fill.order_status).toBe('filled');

    await log.waitDurable(log.nextSeq - 1);
    const view = await orderView(book, log, rec.order.id);
    expect(view?.order).toMatchObject({ quantity: 20, limit_price: '10.5000', time_in_force: 'day' });
    expect(view?.cum_qty).toBe(20);

    // After a restart the log's replay works the order as amended.
    const other = order();
    book.accept(other);
    book.replace(other.order.id, { quantity: 3 });
    await log.waitDurable(log.nextSeq - 1);
    await log.close();
    logs.splice(0);
    const again = await open(dir);
    const replayed = again.book.get(other.order.id)!;
    expect(isWorking(replayed) && replayed.record.order.quantity).toBe(3);
    expect(again.book.fill(other.order.id, 4, '10.00')).toBe('too_much');
    expect(again.book.get(rec.order.id)?.status).toBe('filled');
  });

  it('a held stop’s stop price and a time in force’s expiry: in the replaced report, and the log’s replay works the order by them', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'venue-replace-'));
    dirs.push(dir);
    const { book, log } = await open(dir);
    const stop = order({ type: 'stop_limit', stop_price: '12.00', limit_price: '12.50' });
    book.accept(stop);
    const report = book.replace(stop.order.id, { stopPrice: '13', timeInForce: 'day' });
    if (typeof report === 'string') throw new Error(report);
    expect(executionReport.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
    expect(report).toMatchObject({
      stop_price: '13.0000',
      limit_price: '12.50',
      time_in_force: 'day',
      expires_at: DAY_CLOSE.toISOString(),
    });
    expect(book.replace(stop.order.id, { stopPrice: '13.00' })).toBe('unchanged');
    // Triggered: its stop price is no longer amendable, all or nothing.
    book.trigger(stop.order.id, '13.00');
    expect(book.replace(stop.order.id, { stopPrice: '14', quantity: 20 })).toBe('already_triggered');
    // An order that is no stop has no stop price to amend.
    const limit = order();
    book.accept(limit);
    expect(book.replace(limit.order.id, { stopPrice: '14' })).toBe('stop_price_not_for_type');

    const held = order({ type: 'stop', stop_price: '20.00', limit_price: null, time_in_force: 'day' });
    book.accept({ ...held, expires_at: DAY_CLOSE.toISOString() });
    book.replace(held.order.id, { stopPrice: '21.5', timeInForce: 'gtc' });
    await log.waitDurable(log.nextSeq - 1);
    await log.close();
    logs.splice(0);
    const again = await open(dir);
    const replayed = again.book.get(held.order.id)!;
    expect(isWorking(replayed) && replayed.record.order).toMatchObject({ stop_price: '21.5000', time_in_force: 'gtc' });
    expect(replayed.expiresAt).toBeNull();
    const view = await orderView(again.book, again.log, held.order.id);
    expect(view?.order).toMatchObject({ stop_price: '21.5000', time_in_force: 'gtc' });
  });

  it('refuses a quantity not above the cum, a limit of a market order, and an order not working: nothing changes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'venue-replace-'));
    dirs.push(dir);
    const { book } = await open(dir);
    const rec = order();
    book.accept(rec);
    book.fill(rec.order.id, 6, '10.00');
    expect(book.replace(rec.order.id, { quantity: 6, limitPrice: '11' })).toBe('quantity_not_above_filled');
    expect(book.replace(rec.order.id, { quantity: 5 })).toBe('quantity_not_above_filled');
    const state = book.get(rec.order.id)!;
    expect(isWorking(state) && state.record.order).toMatchObject({ quantity: 10, limit_price: '10.00' });
    const market = order({ type: 'market', limit_price: null });
    book.accept(market);
    expect(book.replace(market.order.id, { limitPrice: '11' })).toBe('limit_price_not_for_market');
    expect(typeof book.replace(market.order.id, { quantity: 12 })).toBe('object');
    book.end(rec.order.id, 'cancelled');
    expect(book.replace(rec.order.id, { quantity: 30 })).toBe('not_working');
    expect(book.replace(randomUUID(), { quantity: 30 })).toBe('unknown_order');
  });
});

describe('applyReport of a replaced report', () => {
  const aggregate: OrderAggregate = {
    id: 'o',
    status: 'partially_filled',
    quantity: 10,
    limitPrice: '10.00',
    stopPrice: null,
    timeInForce: 'gtc',
    expiresAt: null,
    filledQuantity: 4,
    filledNotional: 400000n * 10n,
    placedAt: '2026-12-01T10:00:00.000Z',
    filledAt: null,
    cancelledAt: null,
    expiredAt: null,
    rejectedAt: null,
    rejectedReason: null,
  };
  const report = {
    exec_id: 'r1',
    exec_type: 'replaced' as const,
    last_qty: 0,
    last_px: null,
    cum_qty: 4,
    transact_time: '2026-12-01T10:01:00.000Z',
    ref_exec_id: null,
    text: null,
  };

  it('amends the order, keeps fills and status, and says what changed', () => {
    const outcome = applyReport(aggregate, { ...report, order_qty: 20, limit_price: '10.5000', time_in_force: 'day' }, new Map());
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.order).toMatchObject({
      quantity: 20,
      limitPrice: '10.50',
      timeInForce: 'day',
      filledQuantity: 4,
      status: 'partially_filled',
    });
    expect(outcome.statusChange).toBeNull();
    expect(outcome.fillEvent).toBe(false);
    expect(outcome.amended).toBe('amended: quantity 10 -> 20, limit_price 10.00 -> 10.50, time_in_force gtc -> day');
    // A fill after it counts against the new quantity: 16 fills it.
    const fills = new Map<string, KnownFill>();
    const fill = applyReport(
      outcome.order,
      { ...report, exec_id: 'f', exec_type: 'fill', last_qty: 16, last_px: '10', cum_qty: 20 },
      fills,
    );
    expect(fill.kind === 'applied' && fill.order).toMatchObject({ filledQuantity: 20, status: 'filled' });
  });

  it('a stop price and the venue’s expiry: the order takes both, the history names the stop price', () => {
    const stop: OrderAggregate = { ...aggregate, status: 'placed', filledQuantity: 0, filledNotional: 0n, stopPrice: '12.00' };
    const outcome = applyReport(
      stop,
      {
        ...report,
        cum_qty: 0,
        order_qty: 10,
        limit_price: '10.0000',
        stop_price: '12.5',
        time_in_force: 'day',
        expires_at: '2030-01-01T21:00:00Z',
      },
      new Map(),
    );
    expect(outcome.kind === 'applied' && outcome.order).toMatchObject({
      stopPrice: '12.50',
      timeInForce: 'day',
      expiresAt: '2030-01-01T21:00:00.000Z',
      quantity: 10,
    });
    expect(outcome.kind === 'applied' && outcome.amended).toBe('amended: stop_price 12.00 -> 12.50, time_in_force gtc -> day');
    // day -> gtc: the venue's expiry null, the order's too.
    const dayOrder: OrderAggregate = { ...stop, timeInForce: 'day', expiresAt: '2030-01-01T21:00:00.000Z' };
    const gtc = applyReport(dayOrder, { ...report, cum_qty: 0, order_qty: 10, time_in_force: 'gtc', expires_at: null }, new Map());
    expect(gtc.kind === 'applied' && gtc.order).toMatchObject({ timeInForce: 'gtc', expiresAt: null, stopPrice: '12.00' });
    // A report of the version before (no stop_price, no expires_at) leaves both as they were.
    const old = applyReport(dayOrder, { ...report, cum_qty: 0, order_qty: 11 }, new Map());
    expect(old.kind === 'applied' && old.order).toMatchObject({ quantity: 11, stopPrice: '12.00', expiresAt: '2030-01-01T21:00:00.000Z' });
  });

  it('a replaced report without its order_qty is malformed', () => {
    expect(applyReport(aggregate, report, new Map())).toMatchObject({ kind: 'rejected', reason: 'malformed' });
  });
});
