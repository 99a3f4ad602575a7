import { describe, expect, it } from 'vitest';
import { useAppWithFakes } from '../support/fakes.js';
import { request } from '../support/http.js';
import { LIMIT_BODY, MARKET_BODY } from '../support/orders.js';

// The routes of the API over HTTP, with in-memory fakes for the database and Temporal: an
// unknown route answers 404, a known path with another method 405 naming the allowed ones, and
// an order POST /orders created is served by GET /orders/:id.

// No request here carries an Idempotency-Key (test/component/idempotency.test.ts covers them).
const { orders, url, post } = useAppWithFakes();
const market = MARKET_BODY;
const limit = LIMIT_BODY;

describe('routing', () => {
  it('answers 404 with a JSON message for an unknown route', async () => {
    const response = await request(`${url()}/no-such-route`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual({ message: 'No route for GET /no-such-route' });
  });

  it('answers 405 with a JSON message for PUT /orders', async () => {
    const response = await request(`${url()}/orders`, {
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
    const response = await request(`${url()}/orders`, { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')?.split(/,\s*/)).toContain('POST');
    expect(response.headers.get('allow')?.split(/,\s*/)).not.toContain('PUT');
  });

  it('serves a created order on GET /orders/:id', async () => {
    const created = await post(limit);
    expect(created.status).toBe(201);
    const fetched = await request(`${url()}/orders/${created.body.id}`);
    expect(fetched.status).toBe(200);
    // The same order, written the same way, plus its history (none in this fake repository).
    expect(fetched.text).toBe(`${created.text.slice(0, -1)},"events":[]}`);
  });
});
