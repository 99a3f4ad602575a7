import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { postJson, request } from '../support/http.js';
import { uniqueInstrument } from '../support/orders.js';
import { useStack } from '../support/stack.js';
import { venueControl, venueViewOf } from '../support/venue.js';
import { waitFor } from '../support/wait.js';

// Stop orders and the time in force ioc and fok (issue #26), through the real API, worker,
// venue (the suite's, scripted) and ingestion. Each test sets its own instrument's price (and how
// much an immediate order can fill at once) on the venue's control port, POST /control/price.
const stack = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0' });

interface OrderBody {
  id: string;
  status: string;
  filled_quantity: number;
  average_fill_price: number | null;
  stop_price: number | null;
  limit_price: number | null;
  workflow_id: string;
}

async function place(body: Record<string, unknown>): Promise<OrderBody> {
  const created = await postJson(`${stack.api.url}/orders`, body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as OrderBody;
}

const orderOf = async (id: string) => (await request(`${stack.api.url}/orders/${id}`)).body as OrderBody;

/** The order once `probe` holds for it (the ingestion applies the venue's reports a moment later). */
const orderWhen = (id: string, probe: (order: OrderBody) => boolean, what: string) =>
  waitFor(
    async () => {
      const order = await orderOf(id);
      return probe(order) ? order : undefined;
    },
    60_000,
    `order ${id} ${what}`,
  );

const setPrice = (instrument: string, price: string, available?: number | null) =>
  venueControl('/control/price', { instrument, price, ...(available === undefined ? {} : { available_quantity: available }) }) as Promise<{
    triggered: string[];
  }>;

/** The kinds of the order's rows of the event stream (GET /events), in stream order. */
async function streamKinds(id: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ kind: string }>('SELECT kind FROM order_stream WHERE order_id = $1 ORDER BY tx, id', [id]);
  return rows.map((row) => row.kind);
}

const execTypes = async (id: string) =>
  ((await request(`${stack.api.url}/orders/${id}/executions`)).body.data as { exec_type: string }[]).map((e) => e.exec_type);

describe('stop orders', () => {
  it('a buy stop 10% above the price does not fill until the price moves past it, then fills at that price', {
    timeout: 120_000,
  }, async () => {
    const instrument = uniqueInstrument('ST');
    await setPrice(instrument, '100.00');
    const order = await place({ type: 'stop', side: 'buy', instrument, stop_price: '110.00', quantity: 10, time_in_force: 'gtc' });
    expect(order).toMatchObject({ stop_price: 110, limit_price: null });

    const placed = await orderWhen(order.id, (o) => o.status === 'placed', 'placed');
    expect(placed.filled_quantity).toBe(0);
    // Held: a price short of the stop leaves it as it is.
    expect((await setPrice(instrument, '109.99')).triggered).toEqual([]);
    await sleep(500);
    expect(await orderOf(order.id)).toMatchObject({ status: 'placed', filled_quantity: 0 });
    expect((await venueViewOf(order.id)).executions.map((e) => e.exec_type)).toEqual(['new']);

    expect((await setPrice(instrument, '110.50')).triggered).toEqual([order.id]);
    const filled = await orderWhen(order.id, (o) => o.status === 'filled', 'filled');
    expect(filled).toMatchObject({ filled_quantity: 10, average_fill_price: 110.5 });
    expect(await execTypes(order.id)).toEqual(['new', 'triggered', 'partial_fill', 'fill']);
    expect(await streamKinds(order.id)).toContain('triggered');
    // The workflow ends with the order, as for any order the venue ends.
    await stack.temporal.workflow.getHandle(order.workflow_id).result();
  });

  it('a sell stop_limit triggers when the price falls to its stop and rests at its limit', { timeout: 120_000 }, async () => {
    const instrument = uniqueInstrument('SL');
    await setPrice(instrument, '100.00');
    const order = await place({
      type: 'stop_limit',
      side: 'sell',
      instrument,
      stop_price: '95.00',
      limit_price: '96.00',
      quantity: 10,
      time_in_force: 'gtc',
    });
    await orderWhen(order.id, (o) => o.status === 'placed', 'placed');
    expect((await setPrice(instrument, '95.01')).triggered).toEqual([]);
    expect((await setPrice(instrument, '94.00')).triggered).toEqual([order.id]);

    // Triggered (its report stored, its event on the stream) and resting: a sell at 96 when the price is 94.
    await waitFor(async () => ((await streamKinds(order.id)).includes('triggered') ? true : undefined), 30_000, 'the triggered event');
    expect(await execTypes(order.id)).toEqual(['new', 'triggered']);
    await sleep(500);
    expect(await orderOf(order.id)).toMatchObject({ status: 'placed', filled_quantity: 0, stop_price: 95, limit_price: 96 });
    expect(await venueViewOf(order.id)).toMatchObject({ status: 'new', cum_qty: 0, leaves_qty: 10 });

    const cancel = await request(`${stack.api.url}/orders/${order.id}`, { method: 'DELETE' });
    expect([200, 202]).toContain(cancel.status);
  });
});

describe('time in force ioc and fok', () => {
  it('ioc partly fillable: what could fill at once is filled, the rest cancelled by the venue, the filled part kept', {
    timeout: 120_000,
  }, async () => {
    const instrument = uniqueInstrument('IO');
    await setPrice(instrument, '50.00', 4);
    const order = await place({ type: 'market', side: 'buy', instrument, quantity: 10, time_in_force: 'ioc' });
    const ended = await orderWhen(order.id, (o) => o.status === 'cancelled', 'cancelled');
    expect(ended).toMatchObject({ filled_quantity: 4, average_fill_price: 50 });
    expect(await venueViewOf(order.id)).toMatchObject({ status: 'cancelled', cum_qty: 4 });
    const events = (await request(`${stack.api.url}/orders/${order.id}`)).body.events as { status: string }[];
    expect(events.map((event) => event.status)).toEqual(expect.arrayContaining(['partially_filled', 'cancelled']));
    await stack.temporal.workflow.getHandle(order.workflow_id).result();
  });

  it('fok not wholly fillable: cancelled by the venue with nothing filled', { timeout: 120_000 }, async () => {
    const instrument = uniqueInstrument('FK');
    await setPrice(instrument, '50.00', 9);
    const order = await place({ type: 'limit', side: 'sell', instrument, limit_price: '49.00', quantity: 10, time_in_force: 'fok' });
    const ended = await orderWhen(order.id, (o) => o.status === 'cancelled', 'cancelled');
    expect(ended).toMatchObject({ filled_quantity: 0, average_fill_price: null });
    expect(await venueViewOf(order.id)).toMatchObject({ status: 'cancelled', cum_qty: 0 });
    await stack.temporal.workflow.getHandle(order.workflow_id).result();

    // All of it available: a fok fills whole.
    await setPrice(instrument, '50.00', 10);
    const whole = await place({ type: 'limit', side: 'sell', instrument, limit_price: '49.00', quantity: 10, time_in_force: 'fok' });
    expect(await orderWhen(whole.id, (o) => o.status === 'filled', 'filled')).toMatchObject({ filled_quantity: 10 });
  });
});

describe('bad input for the new fields', () => {
  it('answers 422 naming the field, and stores nothing', async () => {
    const instrument = uniqueInstrument('BD');
    const base = { side: 'buy', instrument, quantity: 1 };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...base, type: 'stop' }, 'stop_price', 'Attribute `stop_price` is required for type `stop`'],
      [{ ...base, type: 'stop_limit', stop_price: '10.00' }, 'limit_price', 'Attribute `limit_price` is required for type `stop_limit`'],
      [
        { ...base, type: 'stop', stop_price: '10.00', limit_price: '9.00' },
        'limit_price',
        'Providing a `limit_price` is prohibited for type `stop`',
      ],
      [{ ...base, type: 'market', stop_price: '10.00' }, 'stop_price', 'Providing a `stop_price` is prohibited for type `market`'],
      [
        { ...base, type: 'limit', limit_price: '9.00', stop_price: '10.00' },
        'stop_price',
        'Providing a `stop_price` is prohibited for type `limit`',
      ],
      [{ ...base, type: 'stop', stop_price: '10.001' }, 'stop_price', 'Decimal input should have no more than 2 decimal places'],
      [{ ...base, type: 'stop', stop_price: 0 }, 'stop_price', 'Input should be greater than 0'],
      [{ ...base, type: 'stop', stop_price: 'ten' }, 'stop_price', 'Input should be a valid decimal'],
      [{ ...base, type: 'stop_market', stop_price: '10.00' }, 'type', "Input should be 'market', 'limit', 'stop' or 'stop_limit'"],
      [{ ...base, type: 'market', time_in_force: 'IOC' }, 'time_in_force', "Input should be 'day', 'gtc', 'ioc' or 'fok'"],
    ];
    for (const [body, field, msg] of cases) {
      const response = await postJson(`${stack.api.url}/orders`, body);
      expect(response.status, JSON.stringify(body)).toBe(422);
      expect(response.body.detail, JSON.stringify(body)).toEqual([expect.objectContaining({ loc: ['body', field], msg })]);
    }
    const { rows } = await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE instrument = $1', [instrument]);
    expect(rows[0]!.n).toBe('0');
  });
});

describe('POST /control/price', () => {
  it('answers 400 naming what is wrong', async () => {
    const cases: [unknown, RegExp][] = [
      [{ price: '10.00' }, /instrument: /],
      [{ instrument: 'X', price: 10 }, /price: /],
      [{ instrument: 'X', price: '0.0000' }, /price: must be greater than 0/],
      [{ instrument: 'X', price: '1.00001' }, /price: must be a decimal with at most 4 decimals/],
      [{ instrument: 'X', price: '1.00', available_quantity: -1 }, /available_quantity: /],
      [{ instrument: 'X', price: '1.00', colour: 'red' }, /colour|Unrecognized key/],
    ];
    for (const [body, message] of cases) {
      const response = await fetch(`${inject('venueControlUrl')}/control/price`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(message);
    }
  });
});
