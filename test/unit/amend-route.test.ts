import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AmendResult, OrderAmendment } from '../../api/placement-client.js';
import type { AmendRequest } from '../../temporal/messages.js';
import { amendOutcome } from '../../workflows/placement-steps.js';
import { FakeOrders, startAppWithFakes } from '../support/fakes.js';
import { type JsonResponse, request } from '../support/http.js';
import { storedOrder } from '../support/orders.js';

// PATCH /orders/{id} with fakes for the store and the workflow: how the API maps the workflow's
// decision (200, 409 naming why, 202 undecided), what it refuses before asking (422, 409 for an
// order not working at the venue), and how the workflow maps the venue's answer (amendOutcome).
const orders = new FakeOrders();
const asked: { orderId: string; request: AmendRequest; updateId: string }[] = [];
let next: AmendResult | null = { decided: false };
const amendment: OrderAmendment = {
  async amend(orderId, amendRequest, _deadline, updateId) {
    asked.push({ orderId, request: amendRequest, updateId });
    return next;
  },
};
let app: Awaited<ReturnType<typeof startAppWithFakes>>;
beforeAll(async () => {
  app = await startAppWithFakes({ orders, amendment });
});
afterAll(() => app.close());
beforeEach(() => {
  orders.reset();
  asked.length = 0;
});

const patch = (id: string, body: unknown): Promise<JsonResponse> =>
  request(`${app.url}/orders/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const placed = (fields = {}) =>
  orders.put(storedOrder({ type: 'limit', limitPrice: '10.00', quantity: 100, timeInForce: 'gtc' }, { status: 'placed', ...fields }));

describe('PATCH /orders/{id} (fakes)', () => {
  it('200 with the order as the workflow says the venue amended it', async () => {
    const order = placed();
    next = {
      decided: true,
      outcome: {
        outcome: 'amended',
        quantity: 150,
        limitPrice: '10.5000',
        timeInForce: 'day',
        filledQuantity: 0,
        expiresAt: '2030-01-01T21:00:00.000Z',
      },
    };
    const answer = await patch(order.id, { quantity: 150, limit_price: '10.5', time_in_force: 'day' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ quantity: 150, limit_price: 10.5, time_in_force: 'day', expires_at: '2030-01-01T21:00:00.000Z' });
    expect(asked).toEqual([
      { orderId: order.id, request: { quantity: 150, limitPrice: '10.50', timeInForce: 'day' }, updateId: expect.any(String) },
    ]);
  });

  it('409 naming why when the workflow refuses; 202 when undecided', async () => {
    const order = placed();
    next = {
      decided: true,
      outcome: { outcome: 'refused', reason: 'quantity_not_above_filled', message: 'lost to a fill', filledQuantity: 60 },
    };
    const lost = await patch(order.id, { quantity: 50 });
    expect(lost.status).toBe(409);
    expect(lost.body).toEqual({ message: expect.stringContaining('lost to a fill'), reason: 'quantity_not_above_filled' });
    next = { decided: false };
    const undecided = await patch(order.id, { quantity: 50 });
    expect(undecided.status).toBe(202);
    expect(undecided.body.status).toBe('placed');
  });

  it('refuses before asking: final or not yet at the venue (409), a limit of a market order and bad bodies (422)', async () => {
    expect((await patch(placed({ status: 'filled' }).id, { quantity: 5 })).body.reason).toBe('final');
    expect((await patch(placed({ status: 'accepted' }).id, { quantity: 5 })).body.reason).toBe('not_working_yet');
    const market = orders.put(storedOrder({ type: 'market' }, { status: 'placed' }));
    const limit = await patch(market.id, { limit_price: '5' });
    expect([limit.status, limit.body.detail[0].loc]).toEqual([422, ['body', 'limit_price']]);
    const order = placed();
    for (const body of [{}, { quantity: null }, { quantity: -1 }, { extra: 1 }]) expect((await patch(order.id, body)).status).toBe(422);
    expect(asked).toEqual([]);
  });

  it('stop_price: checked as on POST (422 naming it), prohibited for a type without one; a stop’s goes to the workflow', async () => {
    const limit = placed();
    const prohibited = await patch(limit.id, { stop_price: '12', quantity: 5 });
    expect(prohibited.status).toBe(422);
    expect(prohibited.body.detail).toEqual([
      { loc: ['body', 'stop_price'], msg: 'Providing a `stop_price` is prohibited for type `limit`', type: 'value_error' },
    ]);
    const market = orders.put(storedOrder({ type: 'market' }, { status: 'placed' }));
    const both = await patch(market.id, { stop_price: '12', limit_price: '11' });
    expect(both.body.detail.map((d: { loc: string[] }) => d.loc[1])).toEqual(['limit_price', 'stop_price']);
    const stop = orders.put(
      storedOrder({ type: 'stop_limit', stopPrice: '12.00', limitPrice: '12.50', quantity: 10, timeInForce: 'gtc' }, { status: 'placed' }),
    );
    for (const [value, type] of [
      ['12.345', 'decimal_max_places'],
      ['0', 'greater_than'],
      ['abc', 'decimal_parsing'],
      [true, 'decimal_parsing'],
    ] as const) {
      const bad = await patch(stop.id, { stop_price: value });
      expect([bad.status, bad.body.detail[0].loc, bad.body.detail[0].type], String(value)).toEqual([422, ['body', 'stop_price'], type]);
    }
    expect(asked).toEqual([]);

    next = {
      decided: true,
      outcome: {
        outcome: 'amended',
        quantity: 10,
        limitPrice: '12.5000',
        stopPrice: '13.0000',
        timeInForce: 'gtc',
        filledQuantity: 0,
        expiresAt: null,
      },
    };
    const amended = await patch(stop.id, { stop_price: 13 });
    expect(amended.status).toBe(200);
    expect(amended.body).toMatchObject({ type: 'stop_limit', stop_price: 13, limit_price: 12.5, quantity: 10 });
    expect(asked.at(-1)?.request).toEqual({ stopPrice: '13.00' });

    // Triggered meanwhile: the venue refuses, 409 naming why.
    next = {
      decided: true,
      outcome: { outcome: 'refused', reason: 'already_triggered', message: 'the stop has already triggered', filledQuantity: 0 },
    };
    const late = await patch(stop.id, { stop_price: 14 });
    expect(late.status).toBe(409);
    expect(late.body).toEqual({ message: expect.stringContaining('already triggered'), reason: 'already_triggered' });
  });
});

describe('amendOutcome (the venue’s answer as the workflow decides it)', () => {
  const answer = {
    status: 'partially_filled',
    cumQty: 60,
    quantity: 100,
    limitPrice: '10.0000',
    timeInForce: 'gtc',
    expiresAt: null,
  } as const;
  it('replaced: amended with the venue’s order; refused: each reason named, a lost race with its cum', () => {
    expect(amendOutcome({ ...answer, outcome: 'replaced', reason: null })).toEqual({
      outcome: 'amended',
      quantity: 100,
      limitPrice: '10.0000',
      stopPrice: null,
      timeInForce: 'gtc',
      filledQuantity: 60,
      expiresAt: null,
    });
    // A stop's: its stop price too; an answer recorded before stop prices were amendable has none (null).
    expect(amendOutcome({ ...answer, outcome: 'replaced', reason: null, stopPrice: '12.5000' })).toMatchObject({ stopPrice: '12.5000' });
    expect(amendOutcome({ ...answer, outcome: 'refused', reason: 'already_triggered' })).toMatchObject({
      outcome: 'refused',
      reason: 'already_triggered',
      message: expect.stringContaining('already triggered'),
    });
    expect(amendOutcome({ ...answer, outcome: 'refused', reason: 'stop_price_not_for_type' })).toMatchObject({
      reason: 'stop_price_not_for_type',
    });
    expect(amendOutcome({ ...answer, outcome: 'refused', reason: 'quantity_not_above_filled' })).toMatchObject({
      reason: 'quantity_not_above_filled',
      filledQuantity: 60,
    });
    expect(amendOutcome({ ...answer, outcome: 'refused', reason: 'not_working', status: 'filled' })).toMatchObject({ reason: 'final' });
    expect(amendOutcome({ ...answer, outcome: 'refused', reason: 'limit_price_not_for_market' }).outcome).toBe('refused');
  });
});
