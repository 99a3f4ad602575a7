import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { testConfig } from '../support/config.js';
import { type JsonResponse, request } from '../support/http.js';

// The headers on the API's answers, against the real API: no content sniffing and no caching on
// every answer (errors included), the docs' own caching, and CORS: off unless
// CORS_ALLOWED_ORIGINS names the page's origin.

const ALLOWED = 'https://trading.example';
const ALSO_ALLOWED = 'http://localhost:5173';
const OTHER = 'https://elsewhere.example';

let api: ApiServer;
let corsApi: ApiServer;

beforeAll(async () => {
  [api, corsApi] = await Promise.all([
    startApiServer(testConfig(), createLogger('api', 'silent')),
    startApiServer(testConfig({ CORS_ALLOWED_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}` }), createLogger('api', 'silent')),
  ]);
});

afterAll(async () => {
  await Promise.all([api?.close(), corsApi?.close()]);
});

const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
];

function expectNoCors(response: JsonResponse): void {
  for (const name of CORS_HEADERS) expect(response.headers.get(name), name).toBeNull();
}

const preflight = (base: string, origin: string, method = 'POST') =>
  request(`${base}/orders`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'content-type, idempotency-key' },
  });

describe('every answer: X-Content-Type-Options nosniff, Cache-Control no-store', () => {
  const cases: [string, string, RequestInit, number][] = [
    ['a page of orders', '/orders?limit=1', {}, 200],
    ['a bad query', '/orders?limit=0', {}, 422],
    ['an unknown order', '/orders/00000000-0000-4000-8000-000000000000', {}, 404],
    ['a bad id', '/orders/not-a-uuid', {}, 422],
    ['malformed JSON', '/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }, 400],
    ['a text body', '/orders', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }, 415],
    ['a method the path does not take', '/orders', { method: 'PUT' }, 405],
    ['an unknown path', '/no-such-path', {}, 404],
    ['liveness', '/health/live', {}, 200],
    ['metrics, not on the public port', '/metrics', {}, 404],
    ['OPTIONS', '/orders', { method: 'OPTIONS' }, 200],
  ];

  it.each(cases)('%s (%s)', async (_name, path, init, status) => {
    const response = await request(`${api.url}${path}`, init);
    expect(response.status, response.text).toBe(status);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('the management port: GET /metrics, also nosniff and no-store', async () => {
    // Prometheus' text, not an answer of the public API: plain fetch.
    const response = await fetch(`${api.managementUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^# HELP http_requests_total /m);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('the docs: the document and the page revalidated, the vendor files cached a day, the redirect not at all; none sniffed', async () => {
    // Not API answers, so not in the OpenAPI document: plain fetch.
    for (const [path, cache, status] of [
      ['/openapi.json', 'no-cache', 200],
      ['/docs', 'no-cache', 200],
      ['/docs/swagger-ui.css', 'public, max-age=86400', 200],
      ['/docs/', 'no-store', 302],
    ] as const) {
      const response = await fetch(`${api.url}${path}`, { redirect: 'manual' });
      expect(response.status, path).toBe(status);
      expect(response.headers.get('cache-control'), path).toBe(cache);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });
});

describe('CORS', () => {
  it('is off by default: no CORS header on answers, and a preflight gets the plain OPTIONS answer', async () => {
    expectNoCors(await request(`${api.url}/orders?limit=1`, { headers: { Origin: ALLOWED } }));
    const response = await preflight(api.url, ALLOWED);
    expect(response.status).toBe(200);
    expect(response.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['DELETE', 'GET', 'HEAD', 'POST']);
    expectNoCors(response);
  });

  it('an allowed origin may read answers, errors included: its origin echoed, Vary: Origin, our headers exposed, no credentials', async () => {
    for (const origin of [ALLOWED, ALSO_ALLOWED]) {
      for (const [path, status] of [
        ['/orders?limit=1', 200],
        ['/orders?limit=0', 422],
      ] as const) {
        const response = await request(`${corsApi.url}${path}`, { headers: { Origin: origin } });
        expect(response.status).toBe(status);
        expect(response.headers.get('access-control-allow-origin')).toBe(origin);
        expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
        expect(response.headers.get('access-control-expose-headers')?.split(',')).toEqual([
          'X-Request-Id',
          'Idempotent-Replayed',
          'RateLimit',
          'RateLimit-Policy',
          'Retry-After',
          'WWW-Authenticate',
        ]);
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      }
    }
  });

  it('an allowed origin gets its preflight: 204 with the methods, the request headers and how long to keep it', async () => {
    const response = await preflight(corsApi.url, ALLOWED);
    expect(response.status, response.text).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(response.headers.get('access-control-allow-methods')?.split(',')).toEqual(['GET', 'HEAD', 'POST', 'PATCH', 'DELETE']);
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual([
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'X-Request-Id',
      'Last-Event-ID',
    ]);
    expect(response.headers.get('access-control-max-age')).toBe('600');
  });

  it('any other origin gets no CORS header, on answers and preflights alike', async () => {
    expectNoCors(await request(`${corsApi.url}/orders?limit=1`, { headers: { Origin: OTHER } }));
    // Close to an allowed one is not allowed: origins are compared whole.
    expectNoCors(await request(`${corsApi.url}/orders?limit=1`, { headers: { Origin: `${ALLOWED}:8443` } }));
    const response = await preflight(corsApi.url, OTHER);
    expect(response.status).toBe(200);
    expectNoCors(response);
  });
});
