import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionReport, VenueOrder } from '../../exchange/protocol.js';
import { Book } from '../../exchange/venue/book.js';
import type { OrderRecord } from '../../exchange/venue/log-lines.js';
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
  const book = new Book({
    takeSeq: () => ++seq,
    append: (_seq, line) => reports.push(JSON.parse(line) as ExecutionReport),
    lineAt: async () => undefined,
  });
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
