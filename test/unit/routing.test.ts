import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ReadinessProbe } from '../../api/health.js';
import { createManagementApp } from '../../api/management.js';
import { createApiMetrics } from '../../api/metrics.js';
import { startMetricsServer } from '../../metrics/metrics-server.js';
import { useAppWithFakes } from '../support/fakes.js';
import { methodRequest, request } from '../support/http.js';
import { LIMIT_BODY, MARKET_BODY } from '../support/orders.js';

// The routes of the API over HTTP, with in-memory fakes for the database and Temporal: an
// unknown route answers 404, a known path with another method 405 naming the allowed ones (the
// fixed paths, health and docs, too; and on the management port and the worker's metrics server),
// OPTIONS a malformed order id 422 as GET does, and an order POST /orders created is served by GET /orders/:id.

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

const allowOf = (response: { headers: Headers }) => response.headers.get('allow')?.split(/,\s*/).sort();

describe('OPTIONS on a path with an order id', () => {
  const badId = { detail: [{ loc: ['path', 'id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }] };

  it.each(['/orders/not-a-uuid', '/orders/null%2Cnull', '/orders/not-a-uuid/executions'])(
    'OPTIONS %s: 422 naming the id, as GET answers',
    async (path) => {
      const options = await methodRequest('OPTIONS', `${url()}${path}`);
      expect(options.status, options.text).toBe(422);
      expect(options.body).toEqual(badId);
      expect(options.headers.get('allow')).toBeNull();
    },
  );

  it('OPTIONS with a well-formed id: 200 with the path’s Allow, whether the order exists or not', async () => {
    const order = await methodRequest('OPTIONS', `${url()}/orders/4f9c1a52-3a5e-4f0e-9a51-8d0f0e7c9b11`);
    expect(order.status).toBe(200);
    expect(allowOf(order)).toEqual(['DELETE', 'GET', 'HEAD', 'PATCH']);
    const executions = await methodRequest('OPTIONS', `${url()}/orders/4f9c1a52-3a5e-4f0e-9a51-8d0f0e7c9b11/executions`);
    expect(allowOf(executions)).toEqual(['GET', 'HEAD']);
  });
});

describe('the fixed paths (health, docs): other methods 405 with Allow, as the orders routes', () => {
  it.each([
    ['TRACE', '/health/live'],
    ['QUERY', '/health/live'],
    ['PUT', '/health/live'],
    ['DELETE', '/openapi.json'],
    ['POST', '/docs'],
    ['TRACE', '/docs/swagger-ui.css'],
  ])('%s %s: 405, Allow names GET and HEAD', async (method, path) => {
    const response = await methodRequest(method, `${url()}${path}`);
    expect(response.status, response.text).toBe(405);
    expect(response.body).toEqual({ message: 'Method Not Allowed' });
    expect(allowOf(response)).toEqual(['GET', 'HEAD']);
  });

  it('OPTIONS /health/live: 200 with Allow; HEAD: 200 without a body', async () => {
    const options = await methodRequest('OPTIONS', `${url()}/health/live`);
    expect(options.status).toBe(200);
    expect(allowOf(options)).toEqual(['GET', 'HEAD']);
    const head = await methodRequest('HEAD', `${url()}/health/live`);
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('only the paths as written: a trailing slash or another case is no route', async () => {
    for (const path of ['/health/live/', '/HEALTH/live', '/openapi.json/']) {
      expect((await methodRequest('TRACE', `${url()}${path}`)).status, path).toBe(404);
      expect((await request(`${url()}${path}`)).status, path).toBe(404);
    }
  });
});

describe('the management port and the worker’s metrics server: other methods 405 with Allow', () => {
  const ready: ReadinessProbe = { check: async () => ({ status: 'ready', checks: {} }), drain() {}, draining: false };

  it('management: GET answers; TRACE, POST 405 and OPTIONS 200, with Allow; another path 404', async () => {
    const server = createServer(createManagementApp(createApiMetrics(), ready).callback()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of ['/metrics', '/health/live', '/health/ready']) {
        expect((await methodRequest('GET', `${base}${path}`, { contract: false })).status, path).toBe(200);
        for (const method of ['TRACE', 'POST']) {
          const refused = await methodRequest(method, `${base}${path}`, { contract: false });
          expect(refused.status, `${method} ${path}`).toBe(405);
          expect(allowOf(refused)).toEqual(['GET', 'HEAD']);
        }
        const options = await methodRequest('OPTIONS', `${base}${path}`, { contract: false });
        expect([options.status, allowOf(options)]).toEqual([200, ['GET', 'HEAD']]);
      }
      expect((await methodRequest('TRACE', `${base}/nope`, { contract: false })).status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('worker: GET and HEAD answer; TRACE 405 and OPTIONS 200, with Allow; another path 404', async () => {
    const metrics = await startMetricsServer({ registry: new Registry(), port: 0, host: '127.0.0.1', live: () => true });
    const base = `http://127.0.0.1:${metrics.port}`;
    try {
      for (const path of ['/metrics', '/health/live']) {
        expect((await methodRequest('GET', `${base}${path}`, { contract: false })).status, path).toBe(200);
        const head = await methodRequest('HEAD', `${base}${path}`, { contract: false });
        expect([head.status, head.text]).toEqual([200, '']);
        const refused = await methodRequest('TRACE', `${base}${path}`, { contract: false });
        expect([refused.status, allowOf(refused), refused.body]).toEqual([405, ['GET', 'HEAD'], { message: 'Method Not Allowed' }]);
        const options = await methodRequest('OPTIONS', `${base}${path}`, { contract: false });
        expect([options.status, allowOf(options)]).toEqual([200, ['GET', 'HEAD']]);
      }
      expect((await methodRequest('TRACE', `${base}/nope`, { contract: false })).status).toBe(404);
    } finally {
      await metrics.close();
    }
  });
});
