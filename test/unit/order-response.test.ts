import { LosslessNumber, stringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { decimalToken, orderJson } from '../../api/order-response.js';
import type { Order, OrderEvent } from '../../domain/order.js';
import { workflowIdFor } from '../../domain/order.js';
import { storedOrder } from '../support/orders.js';

// orderJson writes its text field by field (GET /events renders every event's order): the same
// text, byte for byte, as lossless-json's stringify of the object it wrote before.

function reference(order: Order, events?: OrderEvent[]): string {
  return stringify({
    id: order.id,
    client_order_id: order.clientOrderId,
    created_at: order.createdAt.toISOString(),
    type: order.type,
    side: order.side,
    instrument: order.instrument,
    limit_price: order.limitPrice === null ? null : new LosslessNumber(order.limitPrice),
    stop_price: order.stopPrice ? new LosslessNumber(order.stopPrice) : null,
    quantity: order.quantity,
    time_in_force: order.timeInForce,
    status: order.status,
    placed_at: order.placedAt?.toISOString() ?? null,
    rejected_reason: order.rejectedReason,
    cancelled_at: order.cancelledAt?.toISOString() ?? null,
    filled_quantity: order.filledQuantity,
    average_fill_price: order.averageFillPrice === null ? null : new LosslessNumber(order.averageFillPrice),
    filled_at: order.filledAt?.toISOString() ?? null,
    expires_at: order.expiresAt?.toISOString() ?? null,
    expired_at: order.expiredAt?.toISOString() ?? null,
    workflow_id: workflowIdFor(order.id),
    ...(events
      ? { events: events.map((event) => ({ status: event.status, at: event.at.toISOString(), reason: event.reason, actor: event.actor })) }
      : {}),
  }) as string;
}

const time = new Date('2026-12-02T10:11:12.345Z');

describe('orderJson', () => {
  it('writes what lossless-json wrote, for every field null and set, strings that need escaping, with and without events', () => {
    const orders: Order[] = [
      storedOrder(),
      storedOrder(
        { type: 'limit', limitPrice: '101.25', quantity: 1_000_000, clientOrderId: 'c-"1"\\\n\u2028é\u0001' },
        {
          status: 'partially_filled',
          placedAt: time,
          rejectedAt: time,
          rejectedReason: 'venue said "no"\n',
          cancelledAt: time,
          filledQuantity: 30,
          averageFillPrice: '10.425000',
          filledAt: time,
          expiredAt: time,
          expiresAt: time,
        },
      ),
      storedOrder({ type: 'limit', limitPrice: '0.01', side: 'sell', timeInForce: 'gtc' }, { status: 'filled', filledQuantity: 5 }),
      storedOrder({ type: 'stop_limit', limitPrice: '94.50', stopPrice: '95.00', side: 'sell', timeInForce: 'fok' }),
    ];
    const events: OrderEvent[] = [
      { status: 'pending', at: time, reason: null, actor: 'system' },
      { status: 'cancelled', at: time, reason: 'by "client"\t', actor: 'KEY1' },
    ];
    for (const order of orders) {
      expect(orderJson(order)).toBe(reference(order));
      expect(orderJson(order, events)).toBe(reference(order, events));
      expect(orderJson(order, [])).toBe(reference(order, []));
      expect(JSON.parse(orderJson(order, events))).toEqual(JSON.parse(reference(order, events)));
    }
  });

  it('never writes a decimal that is not a JSON number', () => {
    expect(decimalToken('101.25')).toBe('101.25');
    for (const bad of ['1,5', 'NaN', '', '01', '1.', '1e', ' 1']) expect(() => decimalToken(bad), bad).toThrow(/Invalid number/);
    expect(() => orderJson(storedOrder({ type: 'limit', limitPrice: '1; DROP' }))).toThrow(/Invalid number/);
  });
});
