import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExchangeLedger } from '../../exchange/exchange-ledger.js';
import type { ExecutionReport, ReplaceOrderMessage, VenueOrder } from '../../exchange/protocol.js';
import { Book } from '../../exchange/venue/book.js';
import type { OrderRecord } from '../../exchange/venue/log-lines.js';
import { createOrderEntry } from '../../exchange/venue/order-entry.js';
import { createSimulation, type Simulation } from '../../exchange/venue/simulation.js';

// The simulation's stops and immediate orders without a process (scripted mode, as the test
// suite's venue runs): a book on an in-memory log, every report it makes kept in order.
const INSTRUMENT = 'TESTSTOP0001';
const PRICE = '100.0000';
const simulations: Simulation[] = [];

afterEach(() => {
  for (const simulation of simulations.splice(0)) simulation.stop();
});

function venue(mode: 'scripted' | 'random' = 'scripted') {
  const reports: ExecutionReport[] = [];
  let seq = 0;
  const book = new Book(
    {
      takeSeq: () => ++seq,
      append: (_seq, line) => reports.push(JSON.parse(line) as ExecutionReport),
      lineAt: async () => undefined,
    },
    undefined,
    () => new Date('2030-01-01T21:00:00.000Z'),
  );
  const simulation = createSimulation(book, { mode, seed: 7, tickMs: 60_000, referencePrices: { [INSTRUMENT]: PRICE } });
  simulations.push(simulation);
  /** Accepts an order and has the simulation work it; its reports so far. */
  const place = (fields: Partial<VenueOrder>) => {
    const order: VenueOrder = {
      id: randomUUID(),
      type: 'market',
      side: 'buy',
      instrument: INSTRUMENT,
      limit_price: null,
      stop_price: null,
      quantity: 10,
      time_in_force: 'gtc',
      ...fields,
    };
    const record: OrderRecord = { order, accepted_at: new Date().toISOString(), expires_at: null };
    book.accept(record);
    simulation.work(book.get(order.id) as Parameters<Simulation['work']>[0]);
    return order.id;
  };
  const of = (id: string) => reports.filter((report) => report.order_id === id);
  const types = (id: string) => of(id).map((report) => report.exec_type);
  return { book, simulation, place, of, types };
}

describe('stop orders at the venue', () => {
  it('holds a buy stop until the price reaches its stop price (at or above), then works it as a market order', () => {
    const { simulation, place, of, types } = venue();
    const id = place({ type: 'stop', stop_price: '110.00' });
    expect(types(id)).toEqual(['new']);

    expect(simulation.setPrice(INSTRUMENT, '109.99').triggered).toEqual([]);
    expect(types(id)).toEqual(['new']);

    expect(simulation.setPrice(INSTRUMENT, '110.00').triggered).toEqual([id]);
    expect(types(id)).toEqual(['new', 'triggered', 'partial_fill', 'fill']);
    const [, triggered, ...fills] = of(id);
    expect(triggered).toMatchObject({ order_status: 'new', last_qty: 0, last_px: '110.0000', cum_qty: 0, leaves_qty: 10 });
    // Filled at the price that triggered it, as a market order is (scripted mode: two fills).
    expect(fills.map((fill) => [fill.last_qty, fill.last_px])).toEqual([
      [5, '110.0000'],
      [5, '110.0000'],
    ]);
    expect(simulation.priceOf(INSTRUMENT)).toBe('110.0000');
  });

  it('triggers a sell stop at or below its stop price; a stop_limit then rests at its limit when the price is below it', () => {
    const { simulation, place, of, types, book } = venue();
    const id = place({ type: 'stop_limit', side: 'sell', stop_price: '95.00', limit_price: '96.00' });
    simulation.setPrice(INSTRUMENT, '95.01');
    expect(types(id)).toEqual(['new']);
    simulation.setPrice(INSTRUMENT, '94.00');
    expect(types(id)).toEqual(['new', 'triggered']);
    expect(of(id)[1]).toMatchObject({ last_px: '94.0000' });
    expect(book.get(id)).toMatchObject({ status: 'new', cumQty: 0, triggered: true });
    // Triggered once only: a later price leaves it as it is.
    simulation.setPrice(INSTRUMENT, '93.00');
    expect(types(id)).toEqual(['new', 'triggered']);
  });

  it('triggers at acceptance a stop whose price is already reached', () => {
    const { place, types } = venue();
    const id = place({ type: 'stop', side: 'sell', stop_price: '100.00' });
    expect(types(id)).toEqual(['new', 'triggered', 'partial_fill', 'fill']);
  });

  it('leaves stops of other instruments alone', () => {
    const { simulation, place, types } = venue();
    const id = place({ type: 'stop', stop_price: '101.00' });
    expect(simulation.setPrice('TESTOTHER001', '500.00').triggered).toEqual([]);
    expect(types(id)).toEqual(['new']);
  });

  it('triggers a held stop at the tick whose walked price reaches it (random mode)', () => {
    vi.useFakeTimers();
    try {
      const { place, types, simulation } = venue('random');
      const id = place({ type: 'stop', stop_price: '100.10' });
      let ticks = 0;
      while (types(id).length === 1 && ticks < 1_000) {
        vi.advanceTimersByTime(60_000);
        ticks += 1;
      }
      expect(types(id).slice(0, 2)).toEqual(['new', 'triggered']);
      // It triggered at the first price at or above its stop, the price the walk had then.
      const walked = Number(simulation.priceOf(INSTRUMENT));
      expect(walked).toBeGreaterThanOrEqual(100.1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ioc and fok at the venue', () => {
  it('ioc: fills the available quantity at once and cancels the rest', () => {
    const { simulation, place, of, types } = venue();
    simulation.setPrice(INSTRUMENT, PRICE, 4);
    const id = place({ time_in_force: 'ioc' });
    expect(types(id)).toEqual(['new', 'partial_fill', 'cancelled']);
    expect(of(id).at(-1)).toMatchObject({ order_status: 'cancelled', cum_qty: 4, leaves_qty: 0 });
    expect(of(id)[1]).toMatchObject({ last_qty: 4, last_px: '100.0000' });
  });

  it('ioc: fills whole when all of it is available, and nothing of a limit the price does not reach', () => {
    const { place, of, types } = venue();
    const whole = place({ time_in_force: 'ioc' });
    expect(types(whole)).toEqual(['new', 'fill']);
    const away = place({ type: 'limit', limit_price: '99.00', time_in_force: 'ioc' });
    expect(types(away)).toEqual(['new', 'cancelled']);
    expect(of(away).at(-1)).toMatchObject({ cum_qty: 0 });
  });

  it('fok: cancels with nothing filled unless all of it can fill at once', () => {
    const { simulation, place, of, types } = venue();
    simulation.setPrice(INSTRUMENT, PRICE, 9);
    const killed = place({ time_in_force: 'fok' });
    expect(types(killed)).toEqual(['new', 'cancelled']);
    expect(of(killed).at(-1)).toMatchObject({ order_status: 'cancelled', cum_qty: 0, leaves_qty: 0 });

    simulation.setPrice(INSTRUMENT, PRICE, 10);
    expect(types(place({ time_in_force: 'fok' }))).toEqual(['new', 'fill']);
    // null: all of it again.
    simulation.setPrice(INSTRUMENT, PRICE, null);
    expect(types(place({ time_in_force: 'fok', quantity: 1000 }))).toEqual(['new', 'fill']);
  });

  it('a stop with ioc is decided when it triggers', () => {
    const { simulation, place, types } = venue();
    const id = place({ type: 'stop', stop_price: '105.00', time_in_force: 'ioc' });
    expect(types(id)).toEqual(['new']);
    simulation.setPrice(INSTRUMENT, '105.00', 3);
    expect(types(id)).toEqual(['new', 'triggered', 'partial_fill', 'cancelled']);
  });
});

describe('a triggered stop after a restart', () => {
  it('is known as triggered from its report in the log (a new book replaying it)', () => {
    const { simulation, place, of } = venue();
    const id = place({ type: 'stop_limit', side: 'buy', stop_price: '102.00', limit_price: '101.00' });
    simulation.setPrice(INSTRUMENT, '102.00');
    const replayed = new Book({ takeSeq: () => 0, append: () => {}, lineAt: async () => undefined });
    const [accepted, ...rest] = of(id);
    const record: OrderRecord = {
      order: {
        id,
        type: 'stop_limit',
        side: 'buy',
        instrument: INSTRUMENT,
        limit_price: '101.00',
        stop_price: '102.00',
        quantity: 10,
        time_in_force: 'gtc',
      },
      accepted_at: new Date().toISOString(),
      expires_at: null,
    };
    replayed.replay({ report: accepted!, record });
    for (const report of rest) replayed.replay({ report });
    expect(replayed.get(id)).toMatchObject({ status: 'new', triggered: true });
  });
});

describe('replacing a held stop (PATCH /orders/{id} with stop_price)', () => {
  const entry = (book: Book, simulation: Simulation) =>
    createOrderEntry({
      book,
      simulation,
      ledger: {} as ExchangeLedger, // replace_order never asks the ledger
      random: () => 0.5,
      dayExpiry: () => new Date('2030-01-01T21:00:00.000Z'),
    });
  const replace = (orders: ReturnType<typeof entry>, orderId: string, fields: Partial<ReplaceOrderMessage>) =>
    orders.replaceOrder({ type: 'replace_order', req_id: 'r', order_id: orderId, ...fields });

  it('moves the stop price atomically: the stop then triggers at the new price, not the old', async () => {
    const { book, simulation, place, of, types } = venue();
    const orders = entry(book, simulation);
    const id = place({ type: 'stop', stop_price: '110.00' });
    const answer = await replace(orders, id, { stop_price: '120' });
    expect(answer).toMatchObject({ outcome: 'replaced', reason: null, stop_price: '120.0000', order_status: 'new' });
    expect(of(id).at(-1)).toMatchObject({ exec_type: 'replaced', stop_price: '120.0000', order_qty: 10, expires_at: null });
    // The old stop price no longer triggers it; the new one does.
    expect(simulation.setPrice(INSTRUMENT, '115.00').triggered).toEqual([]);
    expect(types(id)).toEqual(['new', 'replaced']);
    expect(simulation.setPrice(INSTRUMENT, '120.00').triggered).toEqual([id]);
    expect(types(id)).toEqual(['new', 'replaced', 'triggered', 'partial_fill', 'fill']);
    expect(of(id)[2]?.last_px).toBe('120.0000');
  });

  it('a new stop price the price already reaches triggers at once, and the answer still says replaced (with what)', async () => {
    const { book, simulation, place, of, types } = venue();
    const orders = entry(book, simulation);
    const id = place({ type: 'stop_limit', side: 'sell', stop_price: '90.00', limit_price: '200.00' });
    const answer = await replace(orders, id, { stop_price: '100.00' });
    expect(types(id)).toEqual(['new', 'replaced', 'triggered']);
    expect(of(id)[2]?.last_px).toBe('100.0000');
    expect(answer).toMatchObject({ outcome: 'replaced', stop_price: '100.0000', quantity: 10, order_status: 'new' });
    // Marketable (sell at or above 200 while the price is 100: not), so it rests at its limit.
    expect(book.get(id)?.status).toBe('new');
  });

  it('after the trigger a stop price is refused (already_triggered), all the changes with it; a quantity alone is still amendable', async () => {
    const { book, simulation, place, types } = venue();
    const orders = entry(book, simulation);
    const id = place({ type: 'stop_limit', stop_price: '105.00', limit_price: '50.00' });
    simulation.setPrice(INSTRUMENT, '106.00');
    expect(types(id)).toEqual(['new', 'triggered']);
    const refused = await replace(orders, id, { stop_price: '107', quantity: 20 });
    expect(refused).toMatchObject({ outcome: 'refused', reason: 'already_triggered', quantity: 10, stop_price: '105.00' });
    expect(types(id)).toEqual(['new', 'triggered']);
    expect(await replace(orders, id, { quantity: 20 })).toMatchObject({ outcome: 'replaced', quantity: 20 });
  });

  it('a stop price of an order that is no stop is refused; time in force day carries the venue’s expiry in the report', async () => {
    const { book, simulation, place, of } = venue();
    const orders = entry(book, simulation);
    const id = place({ type: 'limit', limit_price: '50.00' });
    expect(await replace(orders, id, { stop_price: '60' })).toMatchObject({ outcome: 'refused', reason: 'stop_price_not_for_type' });
    const day = await replace(orders, id, { time_in_force: 'day' });
    expect(day).toMatchObject({ outcome: 'replaced', expires_at: '2030-01-01T21:00:00.000Z' });
    expect(of(id).at(-1)).toMatchObject({
      exec_type: 'replaced',
      stop_price: null,
      time_in_force: 'day',
      expires_at: '2030-01-01T21:00:00.000Z',
    });
    const gtc = await replace(orders, id, { time_in_force: 'gtc' });
    expect(gtc).toMatchObject({ expires_at: null });
    expect(of(id).at(-1)).toMatchObject({ time_in_force: 'gtc', expires_at: null });
  });
});
