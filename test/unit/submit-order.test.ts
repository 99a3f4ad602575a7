import { beforeEach, describe, expect, it } from 'vitest';
import { OrderNotAcceptedError } from '../../api/errors.js';
import { StartNotSentError } from '../../api/placement-client.js';
import { type SubmitOrderDeps, submitOrder } from '../../api/submit-order.js';
import type { NewOrder } from '../../domain/order.js';
import { FakeOrders, FakePlacement } from '../support/fakes.js';

// submitOrder alone, over an in-memory order store and a workflow start that fails on demand:
// an acknowledged start is the decision (201 whatever follows); an unacknowledged one is
// compensated by the rejection, and only a confirmed rejection makes the answer "not accepted".

const REQUEST: NewOrder = {
  type: 'limit',
  side: 'buy',
  instrument: 'US0378331005',
  limitPrice: '187.25',
  quantity: 10,
  timeInForce: 'day',
};
const orders = new FakeOrders();
const placement = new FakePlacement();
const openOutcomes: { orderId: string; cause: unknown }[] = [];
const deps: SubmitOrderDeps = {
  orders,
  placement,
  budgetMs: 5000,
  openOutcome: (orderId, cause) => openOutcomes.push({ orderId, cause }),
};

beforeEach(() => {
  orders.reset();
  placement.reset();
  openOutcomes.length = 0;
});

const onlyOrderId = () => [...orders.byId.keys()][0]!;

describe('submitOrder when Temporal acknowledges the start', () => {
  it('records accepted and returns the order accepted, its workflow started with the stored order', async () => {
    const order = await submitOrder(deps, REQUEST);
    expect(order).toMatchObject({ ...REQUEST, status: 'accepted' });
    expect(orders.byId.get(order.id)?.status).toBe('accepted');
    expect(placement.tickets.map((ticket) => ticket.id)).toEqual([order.id]);
    expect(orders.callsOf('rejectIfPending')).toEqual([]);
  });

  it('returns the order accepted (the route answers 201) even when recording accepted fails', async () => {
    orders.stubs.accept = () => Promise.reject(new Error('database gone after the start'));
    const order = await submitOrder(deps, REQUEST);
    expect(order.status).toBe('accepted');
    expect(orders.byId.get(order.id)?.status).toBe('pending'); // the workflow claims a pending order all the same
    expect(orders.callsOf('rejectIfPending')).toEqual([]);
  });

  it('does not accept an order the sweep rejected before the start was acknowledged (accept finds rejected)', async () => {
    orders.stubs.accept = async () => 'rejected';
    await expect(submitOrder(deps, REQUEST)).rejects.toBeInstanceOf(OrderNotAcceptedError);
  });
});

describe('submitOrder when the start is not acknowledged', () => {
  beforeEach(() => {
    placement.error = new Error('deadline exceeded');
  });

  it('rejects the order and throws OrderNotAcceptedError once the rejection is confirmed', async () => {
    await expect(submitOrder(deps, REQUEST)).rejects.toBeInstanceOf(OrderNotAcceptedError);
    const id = onlyOrderId();
    expect(orders.byId.get(id)?.status).toBe('rejected');
    expect(orders.callsOf('accept')).toEqual([]);
    expect(openOutcomes).toEqual([]);
  });

  it('returns the order as accepted when the rejection finds the workflow already claimed it', async () => {
    orders.stubs.rejectIfPending = async () => 'placing';
    const order = await submitOrder(deps, REQUEST);
    expect(order).toMatchObject({ ...REQUEST, status: 'accepted' });
    expect(orders.callsOf('rejectIfPending')).toEqual([[order.id, expect.any(String)]]);
  });

  it('throws OrderNotAcceptedError and reports the open outcome when the rejection fails too', async () => {
    const rejectError = new Error('database gone as well');
    orders.stubs.rejectIfPending = () => Promise.reject(rejectError);
    await expect(submitOrder(deps, REQUEST)).rejects.toBeInstanceOf(OrderNotAcceptedError);
    expect(openOutcomes).toEqual([{ orderId: onlyOrderId(), cause: rejectError }]);
  });

  it('reports no open outcome when the start was never sent (nothing can claim the order), even if the rejection fails', async () => {
    placement.error = new StartNotSentError('order-x');
    orders.stubs.rejectIfPending = () => Promise.reject(new Error('timeout exceeded when trying to connect'));
    await expect(submitOrder(deps, REQUEST)).rejects.toBeInstanceOf(OrderNotAcceptedError);
    expect(orders.callsOf('rejectIfPending')).toEqual([[onlyOrderId(), expect.any(String)]]);
    expect(openOutcomes).toEqual([]);
  });

  it('throws OrderNotAcceptedError when the order is gone (the rejection finds no order)', async () => {
    orders.stubs.rejectIfPending = async () => null;
    await expect(submitOrder(deps, REQUEST)).rejects.toBeInstanceOf(OrderNotAcceptedError);
    expect(openOutcomes).toEqual([]);
  });

  it('sends the rejection to the fence store (a pool of its own) when there is one, not to the order store', async () => {
    const fenceCalls: string[] = [];
    const fence = {
      async rejectIfPending(id: string) {
        fenceCalls.push(id);
        return 'rejected' as const;
      },
    };
    // The order store's pool is exhausted by a burst: its rejection would fail.
    orders.stubs.rejectIfPending = () => Promise.reject(new Error('timeout exceeded when trying to connect'));
    await expect(submitOrder({ ...deps, fence }, REQUEST)).rejects.toBeInstanceOf(OrderNotAcceptedError);
    expect(fenceCalls).toEqual([onlyOrderId()]);
    expect(openOutcomes).toEqual([]);
  });
});
