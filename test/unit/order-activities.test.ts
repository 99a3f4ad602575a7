import { ApplicationFailure, type Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { createOrderActivities } from '../../activities/order-activities.js';
import type { OrderStatus } from '../../domain/order.js';
import { DuplicateOrderError, type Exchange, MissingOrderError, OrderPlacementError } from '../../exchange/exchange.js';
import { rejectionOf } from '../support/errors.js';
import { FakeOrders } from '../support/fakes.js';
import { storedOrder } from '../support/orders.js';

// The order activities alone, in Temporal's mock activity context, over an in-memory order
// store and an exchange that fails on demand: what each step does with each status it finds,
// and which failures it makes non-retryable (a retry could not change them).

const PLACED_AT = new Date('2024-05-06T07:08:10.000Z');
const orders = new FakeOrders();
let exchangeFailure: Error | undefined;
const exchange: Exchange = {
  async placeOrder() {
    if (exchangeFailure) throw exchangeFailure;
    return { expiresAt: null };
  },
  async cancelOrder() {
    return { outcome: 'cancelled', cumQty: 0 };
  },
};
const activities = createOrderActivities({ orders, exchange, now: () => PLACED_AT });
const silent: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
// A silent logger: each failure under test would otherwise be logged with its stack.
const env = new MockActivityEnvironment(undefined, { logger: silent });

beforeEach(() => {
  orders.reset();
  exchangeFailure = undefined;
});

function orderIn(status: OrderStatus) {
  return orders.put(storedOrder({}, { status }));
}

/** What the activity threw, as the worker reports it to the workflow. */
const failureOf = (run: Promise<unknown>) => rejectionOf(run, ApplicationFailure);

describe('claimOrder', () => {
  it.each(['pending', 'accepted'] as const)('takes a %s order: placing', async (status) => {
    const order = orderIn(status);
    expect(await env.run(activities.claimOrder, order.id)).toBe('placing');
    expect(orders.byId.get(order.id)?.status).toBe('placing');
  });

  it('leaves a rejected order rejected, and says so (it must never be placed)', async () => {
    const order = orderIn('rejected');
    expect(await env.run(activities.claimOrder, order.id)).toBe('rejected');
    expect(orders.byId.get(order.id)?.status).toBe('rejected');
  });

  it('fails an unknown order without retries', async () => {
    const failure = await failureOf(env.run(activities.claimOrder, '00000000-0000-4000-8000-000000000000'));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('UnknownOrder');
  });
});

describe('placeAtExchange', () => {
  const ticket = { ...storedOrder(), createdAt: '2024-05-06T07:08:09.123Z' };

  it('places the order', async () => {
    await expect(env.run(activities.placeAtExchange, ticket)).resolves.toEqual({ expiresAt: null });
  });

  it('takes a DuplicateOrderError as placed (an earlier attempt reached the exchange)', async () => {
    exchangeFailure = new DuplicateOrderError(ticket.id);
    await expect(env.run(activities.placeAtExchange, ticket)).resolves.toEqual({ expiresAt: null });
  });

  it('fails a MissingOrderError without retries (no retry can fix the call)', async () => {
    exchangeFailure = new MissingOrderError();
    const failure = await failureOf(env.run(activities.placeAtExchange, ticket));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('MissingOrderError');
  });

  it('lets an unavailable exchange fail as it is, for the retry policy', async () => {
    exchangeFailure = new OrderPlacementError();
    await expect(env.run(activities.placeAtExchange, ticket)).rejects.toBe(exchangeFailure);
  });
});

describe('markOrderPlaced', () => {
  it('records placing -> placed with the time the exchange accepted it', async () => {
    const order = orderIn('placing');
    await env.run(activities.markOrderPlaced, order.id);
    expect(orders.byId.get(order.id)).toMatchObject({ status: 'placed', placedAt: PLACED_AT });
  });

  it.each(['partially_filled', 'filled', 'cancelled', 'expired', 'rejected'] as const)(
    "takes a %s order as placed: the venue's reports got there first (it is not changed)",
    async (status) => {
      const order = orderIn(status);
      await env.run(activities.markOrderPlaced, order.id);
      expect(orders.byId.get(order.id)?.status).toBe(status);
    },
  );

  // Never claimed: no exchange call can have been made for it.
  it.each(['pending', 'accepted'] as const)('fails on a %s order without retries', async (status) => {
    const order = orderIn(status);
    const failure = await failureOf(env.run(activities.markOrderPlaced, order.id));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('InvalidTransition');
    expect(orders.byId.get(order.id)?.status).toBe(status);
  });
});

describe('markOrderCancelled', () => {
  it.each(['accepted', 'placing'] as const)('records %s -> cancelled', async (status) => {
    const order = orderIn(status);
    await env.run(activities.markOrderCancelled, order.id);
    expect(orders.byId.get(order.id)?.status).toBe('cancelled');
  });

  it.each(['placed', 'rejected'] as const)('fails on a %s order without retries', async (status) => {
    const order = orderIn(status);
    const failure = await failureOf(env.run(activities.markOrderCancelled, order.id));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('InvalidTransition');
    expect(orders.byId.get(order.id)?.status).toBe(status);
  });

  it('fails on an unknown order without retries', async () => {
    const failure = await failureOf(env.run(activities.markOrderCancelled, '00000000-0000-4000-8000-000000000000'));
    expect(failure.nonRetryable).toBe(true);
  });
});

// A healthy order's three steps as one local attempt: each step as its own activity takes it;
// a step that fails and may be retried is reported, not thrown (the workflow retries that step).
describe('claimPlaceAndRecord', () => {
  const ticketOf = (status: OrderStatus) => ({ ...orderIn(status), createdAt: '2024-05-06T07:08:09.123Z' });

  it('claims, places and records an accepted order', async () => {
    const ticket = ticketOf('accepted');
    expect(await env.run(activities.claimPlaceAndRecord, ticket)).toEqual({
      claimed: 'placing',
      placement: { expiresAt: null },
      recorded: true,
    });
    expect(orders.byId.get(ticket.id)).toMatchObject({ status: 'placed', placedAt: PLACED_AT });
  });

  it.each(['rejected', 'placed', 'cancelled'] as const)(
    'stops at the claim of a %s order: no exchange call, nothing recorded',
    async (status) => {
      const ticket = ticketOf(status);
      exchangeFailure = new Error('the exchange must not be called');
      expect(await env.run(activities.claimPlaceAndRecord, ticket)).toEqual({ claimed: status, placement: null, recorded: false });
      expect(orders.byId.get(ticket.id)?.status).toBe(status);
    },
  );

  it('reports an unavailable exchange, the order left placing for the scheduled exchange call', async () => {
    const ticket = ticketOf('pending');
    exchangeFailure = new OrderPlacementError();
    expect(await env.run(activities.claimPlaceAndRecord, ticket)).toEqual({
      claimed: 'placing',
      placement: null,
      recorded: false,
      failure: { step: 'exchange', type: 'OrderPlacementError', message: exchangeFailure.message },
    });
    expect(orders.byId.get(ticket.id)?.status).toBe('placing');
  });

  it('fails with a MissingOrderError as the exchange call would (no retry can fix it)', async () => {
    exchangeFailure = new MissingOrderError();
    const failure = await failureOf(env.run(activities.claimPlaceAndRecord, ticketOf('accepted')));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('MissingOrderError');
  });

  it('reports a record that failed, the placement kept for the scheduled record', async () => {
    const ticket = ticketOf('accepted');
    orders.stubs.markPlaced = async () => {
      throw new Error('connection lost');
    };
    expect(await env.run(activities.claimPlaceAndRecord, ticket)).toEqual({
      claimed: 'placing',
      placement: { expiresAt: null },
      recorded: false,
      failure: { step: 'record', type: 'Error', message: 'connection lost' },
    });
  });

  it('fails when the claim fails: the workflow takes the steps one by one from the claim', async () => {
    const failure = await failureOf(env.run(activities.claimPlaceAndRecord, { ...storedOrder(), createdAt: '2024-05-06T07:08:09.123Z' }));
    expect(failure.type).toBe('UnknownOrder');
  });
});
