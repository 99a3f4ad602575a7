import { describe, expect, it } from 'vitest';
import { useAppWithFakes } from '../support/fakes.js';
import type { JsonResponse } from '../support/http.js';
import { ISIN, LIMIT_BODY, MARKET_BODY } from '../support/orders.js';

// POST /orders when the database or Temporal fails, with in-memory fakes that fail on demand:
// the fixed 500 body with no internal text, the order rejected when its start failed, and 201
// when the start errored but the workflow had already claimed the order.

const INTERNAL_ERROR_TEXT = '{"message":"Internal server error while placing the order"}';

// No request here carries an Idempotency-Key (test/component/idempotency.test.ts covers them).
const { orders, placement, post } = useAppWithFakes();
const market = MARKET_BODY;
const limit = LIMIT_BODY;

describe('POST /orders when a dependency fails', () => {
  function expectInternalError(response: JsonResponse, secret: string): void {
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.text).toBe(INTERNAL_ERROR_TEXT);
    expect(response.body).toEqual({ message: 'Internal server error while placing the order' });
    expect(response.text).not.toContain(secret);
    expect(response.text).not.toMatch(/\bat \S+ \(|\.ts:\d+|node:internal/);
  }

  it('answers exactly the fixed 500 body when the repository throws', async () => {
    orders.stubs.create = () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2'));
    const response = await post(limit);
    expectInternalError(response, 'hunter2');
    expect(response.text).not.toContain('ECONNREFUSED');
    expect(orders.created).toHaveLength(1);
    expect(placement.tickets).toEqual([]);
    expect(orders.callsOf('rejectIfPending')).toEqual([]);
  });

  it('rejects the order and answers the fixed 500 body when the workflow start fails', async () => {
    placement.error = new Error('Temporal deadline exceeded at temporal.internal:7233');
    const response = await post(limit);
    expectInternalError(response, 'temporal.internal');
    expect(placement.tickets).toHaveLength(1);
    const id = placement.tickets[0]!.id;
    expect(orders.callsOf('rejectIfPending')).toEqual([[id, expect.any(String)]]);
  });

  it('answers the fixed 500 body when the order to reject is gone (rejectIfPending → null)', async () => {
    placement.error = new Error('start failed');
    orders.stubs.rejectIfPending = async () => null;
    const response = await post(market);
    expectInternalError(response, 'start failed');
    expect(orders.callsOf('rejectIfPending')).toHaveLength(1);
  });

  it('answers the fixed 500 body when rejecting the order fails too', async () => {
    placement.error = new Error('start failed');
    orders.stubs.rejectIfPending = () => Promise.reject(new Error('database is gone: pg://secret-host'));
    const response = await post(market);
    expectInternalError(response, 'secret-host');
    expect(orders.callsOf('rejectIfPending')).toHaveLength(1);
  });

  it('answers 201 (status accepted: its placement is guaranteed) when the start errored but the workflow already claimed the order', async () => {
    placement.error = new Error('deadline exceeded, but the start landed');
    orders.stubs.rejectIfPending = async () => 'placing';
    const response = await post(limit);
    expect(response.status, response.text).toBe(201);
    const id = placement.tickets[0]!.id;
    expect(orders.callsOf('rejectIfPending')).toEqual([[id, expect.any(String)]]);
    expect(response.body).toMatchObject({
      id,
      status: 'accepted',
      type: 'limit',
      side: 'sell',
      instrument: ISIN,
      quantity: 10,
      workflow_id: `order-${id}`,
    });
    expect(response.text).toContain('"limit_price":10.25');
  });
});
