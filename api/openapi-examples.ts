import { parse as parseLossless } from 'lossless-json';
import type { Order } from '../domain/order.js';
import { parseOrderRequest } from './order-request.js';
import { orderJson } from './order-response.js';

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
