import { parse as parseLossless } from 'lossless-json';
import type { Order } from '../domain/order.js';
import { applyFill, FLAT, type PositionFill } from '../domain/positions.js';
import { notCancelledReason } from './cancel-all.js';
import { cancelAllAnswer } from './cancel-all-response.js';
import { parseOrderRequest } from './order-request.js';
import { orderJson } from './order-response.js';
import { positionBody } from './position-response.js';

// The document's examples: valid requests, and the 201 answer to each as the API writes it (the
// request through the API's own parser, the answer through its own serializer), so an example
// cannot show a field the API does not send or a value it would not answer.

const REQUESTS = {
  limit: {
    summary: 'A limit order',
    value: { type: 'limit', side: 'buy', instrument: 'US0378331005', limit_price: 187.25, quantity: 10 },
  },
  market: { summary: 'A market order', value: { type: 'market', side: 'sell', instrument: 'US0378331005', quantity: 5 } },
  stop: {
    summary: 'A stop order, good till cancelled: a buy once the price reaches 205.00',
    value: { type: 'stop', side: 'buy', instrument: 'US0378331005', stop_price: 205, quantity: 10, time_in_force: 'gtc' },
  },
  stop_limit: {
    summary: 'A stop-limit order: a sell at 179.50 or better once the price falls to 180.00',
    value: { type: 'stop_limit', side: 'sell', instrument: 'US0378331005', stop_price: 180, limit_price: 179.5, quantity: 10 },
  },
  ioc: {
    summary: 'An immediate-or-cancel limit order: what fills at once at 187.25 or better, the rest cancelled',
    value: { type: 'limit', side: 'buy', instrument: 'US0378331005', limit_price: 187.25, quantity: 100, time_in_force: 'ioc' },
  },
  fok: {
    summary: 'A fill-or-kill market order: all 100 at once, or cancelled with nothing filled',
    value: { type: 'market', side: 'buy', instrument: 'US0378331005', quantity: 100, time_in_force: 'fok' },
  },
};

/** What each example order was given when stored: its id and time. */
const STORED: Record<keyof typeof REQUESTS, { id: string; createdAt: Date }> = {
  limit: { id: '4f9c1a52-3a5e-4f0e-9a51-8d0f0e7c9b11', createdAt: new Date('2026-11-23T20:35:52.234Z') },
  market: { id: '0b6d2f3e-8c41-4d7a-b5e9-2a7f61c3d804', createdAt: new Date('2026-11-23T20:36:07.918Z') },
  stop: { id: '7c2e5b1a-0d3f-4a8e-9b6c-1f4d2e8a7b35', createdAt: new Date('2026-12-08T09:30:01.120Z') },
  stop_limit: { id: 'a1d4f6e2-5b7c-4e9a-8d3f-6c2b1a0e9f47', createdAt: new Date('2026-12-08T09:30:02.457Z') },
  ioc: { id: 'e5b3c7d9-2f1a-4c6e-b8d0-3a9f7e1c5b62', createdAt: new Date('2026-12-08T09:30:03.781Z') },
  fok: { id: '3f8a1c6d-9e2b-4d7f-a5c3-8b0e6f2d4a19', createdAt: new Date('2026-12-08T09:30:04.016Z') },
};

export const ORDER_REQUEST_EXAMPLES = REQUESTS;

/** The 201 answer to each request example: the order just accepted, as orderJson writes it. */
export const PLACED_ORDER_EXAMPLES = Object.fromEntries(
  Object.entries(REQUESTS).map(([name, { summary, value }]) => {
    // Asserted, not annotated: the order's fields grow (fills, expiry), and an order just accepted has none of them yet.
    const order = {
      ...parseOrderRequest(parseLossless(JSON.stringify(value))),
      ...STORED[name as keyof typeof REQUESTS],
      status: 'accepted',
      placedAt: null,
      rejectedAt: null,
      rejectedReason: null,
      cancelledAt: null,
      filledQuantity: 0,
      averageFillPrice: null,
      filledAt: null,
      expiredAt: null,
      expiresAt: null,
    } as Order;
    return [name, { summary: `${summary}, accepted`, value: JSON.parse(orderJson(order)) as unknown }];
  }),
) as Record<keyof typeof REQUESTS, { summary: string; value: unknown }>;

// DELETE /orders' answers, as cancelAllAnswer writes them.
const [FIRST, SECOND, FILLED, SLOW] = [
  '4f9c1a52-3a5e-4f0e-9a51-8d0f0e7c9b11',
  '0b6d2f3e-8c41-4d7a-b5e9-2a7f61c3d804',
  '9d2e7b10-55c3-4a8e-8f6a-3c1b2d4e5f60',
  'c3a8e1f2-7b6d-4e5c-9a0b-1d2e3f4a5b6c',
];
const cancelAllExample = (summary: string, result: Parameters<typeof cancelAllAnswer>[0]) => ({
  summary,
  value: JSON.parse(cancelAllAnswer(result).body) as unknown,
});

/** The 200 of DELETE /orders: every order asked decided. */
export const CANCEL_ALL_DECIDED_EXAMPLES = {
  decided: cancelAllExample('Two cancelled, one filled first', {
    cancelled: [FIRST, SECOND],
    notCancelled: [{ id: FILLED, reason: notCancelledReason('filled') }],
    pending: [],
    hasMore: false,
  }),
  nothingOpen: cancelAllExample('Nothing open', { cancelled: [], notCancelled: [], pending: [], hasMore: false }),
};

/** The 202 of DELETE /orders: some decisions still to come. */
export const CANCEL_ALL_PENDING_EXAMPLES = {
  pending: cancelAllExample('One cancelled, one still to be decided', {
    cancelled: [FIRST],
    notCancelled: [],
    pending: [SLOW],
    hasMore: false,
  }),
};

// A position as GET /positions/{instrument} answers it, made by the same fold (domain/positions.ts)
// and serializer (api/position-response.ts) as the live answer: 100 bought at 187.25 and 50 at
// 190.10, 60 sold at 192.00; and a short opened by a sell that crossed zero.
const longFills: PositionFill[] = [
  { side: 'buy', quantity: 100, price: '187.25', at: '2026-11-23T20:35:53.104Z' },
  { side: 'buy', quantity: 50, price: '190.10', at: '2026-11-23T20:41:12.550Z' },
  { side: 'sell', quantity: 60, price: '192.00', at: '2026-11-23T21:02:40.019Z' },
];
const shortFills: PositionFill[] = [
  { side: 'buy', quantity: 10, price: '411.30', at: '2026-11-23T20:36:08.301Z' },
  { side: 'sell', quantity: 25, price: '415.0125', at: '2026-11-23T20:59:31.777Z' },
];
const LONG = positionBody('US0378331005', longFills.reduce(applyFill, FLAT));
const SHORT = positionBody('US5949181045', shortFills.reduce(applyFill, FLAT));

export const POSITION_EXAMPLES = {
  long: { summary: 'A long position after a partial sale', value: LONG },
  short: { summary: 'A short opened by a sell that crossed zero', value: SHORT },
};

export const POSITION_LIST_EXAMPLES = {
  open: { summary: 'Two open positions', value: { data: [LONG, SHORT] } },
};
