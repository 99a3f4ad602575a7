import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CancelOutcome, OrderCancellation } from '../../api/placement-client.js';
import type { Order } from '../../domain/order.js';
import type { OrderListFilters } from '../../prisma/orders-query.js';
import { FakeOrders, startAppWithFakes } from '../support/fakes.js';
import { request } from '../support/http.js';
import { storedOrder } from '../support/orders.js';

// DELETE /orders over HTTP with in-memory fakes: the answer's status and body for each outcome
// (every answer also held to the OpenAPI document by test/support/http.ts), the fixed 500 body
// when no cancel could be recorded, and DELETE /orders/:id answering as before on the same path.

const orders = new FakeOrders();
/** Per order id: how its workflow takes a cancel (default: the cancel wins at once). */
const workflows = new Map<string, 'slow' | 'fills' | 'unreachable'>();
const cancellation: OrderCancellation = {
  async request(orderId) {
    if (workflows.get(orderId) === 'unreachable') throw new Error('connect ECONNREFUSED temporal.internal:7233');
    return true;
  },
  async decision(orderId): Promise<CancelOutcome> {
    const behaviour = workflows.get(orderId);
    if (behaviour === 'slow') return { decided: false };
    const status = behaviour === 'fills' ? 'filled' : 'cancelled';
    orders.byId.get(orderId)!.status = status;
    return { decided: true, status };
  },
};
const ordersQuery = {
  async page(filters: OrderListFilters, pageSize: number) {
    const open = [...orders.byId.values()].filter(
      (order) => filters.statuses?.includes(order.status) && (filters.instrument === undefined || order.instrument === filters.instrument),
    );
    return { orders: open.slice(0, pageSize), more: open.length > pageSize };
  },
};

let app: { url: string; close(): Promise<void> };
beforeAll(async () => {
  app = await startAppWithFakes({ orders, cancellation, ordersQuery });
});
afterAll(() => app.close());
beforeEach(() => {
  orders.reset();
  workflows.clear();
});

const open = (fields: Partial<Order> = {}) => orders.put(storedOrder({}, { id: randomUUID(), status: 'placed', ...fields })).id;
const cancelAll = (query = '', headers: Record<string, string> = {}) => request(`${app.url}/orders${query}`, { method: 'DELETE', headers });

describe('DELETE /orders over HTTP', () => {
  it('200 with each order in its list once every one is decided', async () => {
    const [cancelled, filled] = [open(), open()];
    workflows.set(filled, 'fills');
    const response = await cancelAll();
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual({
      cancelled: [cancelled],
      not_cancelled: [{ id: filled, reason: expect.stringMatching(/^it is filled/) }],
      pending: [],
      has_more: false,
    });
  });

  it('202 naming the orders still to be decided', async () => {
    const [cancelled, slow] = [open(), open()];
    workflows.set(slow, 'slow');
    const response = await cancelAll();
    expect(response.status, response.text).toBe(202);
    expect(response.body).toEqual({ cancelled: [cancelled], not_cancelled: [], pending: [slow], has_more: false });
  });

  it('passes ?instrument= on, and ignores an Idempotency-Key (even an empty one)', async () => {
    const wanted = open({ instrument: 'DE0007164600' });
    const kept = open();
    const response = await cancelAll('?instrument=DE0007164600', { 'Idempotency-Key': '' });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toMatchObject({ cancelled: [wanted] });
    expect(orders.byId.get(kept)?.status).toBe('placed');
  });

  it('422 naming an unknown parameter; nothing asked', async () => {
    const id = open();
    const response = await cancelAll('?id=x');
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail: [{ loc: ['query', 'id'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }] });
    expect(orders.byId.get(id)?.status).toBe('placed');
  });

  it('the fixed 500 body of a cancel, nothing internal, when not one cancel could be recorded', async () => {
    for (const id of [open(), open()]) workflows.set(id, 'unreachable');
    const response = await cancelAll();
    expect(response.status).toBe(500);
    expect(response.text).toBe('{"message":"Internal server error while cancelling the order"}');
  });
});

describe('DELETE /orders/:id on the same cancel path', () => {
  it('200 cancelled, 409 filled first, 202 undecided', async () => {
    const [cancelled, filled, slow] = [open(), open(), open()];
    workflows.set(filled, 'fills');
    workflows.set(slow, 'slow');
    const deleteOne = (id: string) => request(`${app.url}/orders/${id}`, { method: 'DELETE' });
    const won = await deleteOne(cancelled);
    expect(won.status).toBe(200);
    expect(won.body).toMatchObject({ id: cancelled, status: 'cancelled' });
    const late = await deleteOne(filled);
    expect(late.status).toBe(409);
    expect(late.body).toEqual({ message: `Order ${filled} cannot be cancelled: it is filled`, status: 'filled' });
    const undecided = await deleteOne(slow);
    expect(undecided.status).toBe(202);
    expect(undecided.body).toMatchObject({ id: slow, status: 'placed' });
  });
});
