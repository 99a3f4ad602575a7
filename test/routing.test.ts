import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOrders, FakePlacement, startAppWithFakes } from './support/fakes.js';
import { postJson, request } from './support/http.js';

// The routes of the API over HTTP, with in-memory fakes for the database and Temporal: an
// unknown route answers 404, a known path with another method 405 naming the allowed ones, and
// an order POST /orders created is served by GET /orders/:id.

const orders = new FakeOrders();
const placement = new FakePlacement();
let app: { url: string; close(): Promise<void> };
let baseUrl: string;

beforeAll(async () => {
  // No request here carries an Idempotency-Key (test/idempotency.test.ts covers them).
  app = await startAppWithFakes({ orders, placement });
  baseUrl = app.url;
});
afterAll(() => app.close());
beforeEach(() => {
  orders.reset();
  placement.reset();
});

/** `body` is sent as JSON; a string is sent as it is (raw JSON text, kept exact). */
const post = (body: unknown, headers?: Record<string, string>) => postJson(`${baseUrl}/orders`, body, headers);

const ISIN = 'US0378331005';
const market = { type: 'market', side: 'buy', instrument: ISIN, quantity: 10 };
const limit = { type: 'limit', side: 'sell', instrument: ISIN, limit_price: '10.25', quantity: 10 };

describe('routing', () => {
  it('answers 404 with a JSON message for an unknown route', async () => {
    const response = await request(`${baseUrl}/no-such-route`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual({ message: 'No route for GET /no-such-route' });
  });

  it('answers 405 with a JSON message for PUT /orders', async () => {
    const response = await request(`${baseUrl}/orders`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(market),
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(typeof response.body.message).toBe('string');
    expect(response.body.message).toMatch(/method not allowed/i);
    expect(orders.created).toEqual([]);
  });

  it('names the allowed method in the Allow header of a 405 (RFC 9110 §15.5.6)', async () => {
    const response = await request(`${baseUrl}/orders`, { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')?.split(/,\s*/)).toContain('POST');
    expect(response.headers.get('allow')?.split(/,\s*/)).not.toContain('PUT');
  });

  it('serves a created order on GET /orders/:id', async () => {
    const created = await post(limit);
    expect(created.status).toBe(201);
    const fetched = await request(`${baseUrl}/orders/${created.body.id}`);
    expect(fetched.status).toBe(200);
    // The same order, written the same way, plus its history (none in this fake repository).
    expect(fetched.text).toBe(`${created.text.slice(0, -1)},"events":[]}`);
  });
});
