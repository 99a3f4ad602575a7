import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { request } from '../support/http.js';
import { assertInContract } from '../support/openapi-contract.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { bodyOf, headersOf, openSlowClient, openSlowClients, type SlowClient, type SlowKind, statusOf } from '../support/slow-client.js';

// Slow clients against the API as a real process, on real TCP sockets: headers that never end, a
// connection that sends nothing, a chunked body that stalls, a body that trickles forever. Each is
// answered 408 (or closed) within its documented bound (docs/api.md, "Bounded time"), and thousands of
// them at once do not keep the API from answering everyone else.

// Node checks the header and request timeouts once a second (api/server.ts).
const CHECK_INTERVAL_MS = 1000;
// For a busy machine: the bound is the setting plus the check interval, and this on top.
const MARGIN_MS = 3000;

const clients: SlowClient[] = [];
const services: ServiceProcess[] = [];

function startApi(timeouts: { headersMs: number; bodyIdleMs: number; requestMs: number }): Promise<ServiceProcess> {
  return startService('api', {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `orders-test-slow-${Math.random().toString(36).slice(2, 10)}`,
    HTTP_HEADERS_TIMEOUT_MS: String(timeouts.headersMs),
    HTTP_BODY_IDLE_TIMEOUT_MS: String(timeouts.bodyIdleMs),
    HTTP_REQUEST_TIMEOUT_MS: String(timeouts.requestMs),
  }).then((service) => {
    services.push(service);
    return service;
  });
}

async function open(url: string, kind: SlowKind): Promise<SlowClient> {
  const client = await openSlowClient(url, kind);
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

afterAll(async () => {
  for (const service of services.splice(0)) await service.kill();
});

describe('one slow client', () => {
  const timeouts = { headersMs: 2000, bodyIdleMs: 2000, requestMs: 4000 };
  let api: ServiceProcess;

  beforeAll(async () => {
    api = await startApi(timeouts);
  });

  it('headers that never end: 408 and closed within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const { response, heldMs } = await (await open(api.url, 'headers')).done;
    expect(statusOf(response), response).toBe(408);
    expect(heldMs).toBeGreaterThanOrEqual(timeouts.headersMs - 100);
    expect(heldMs).toBeLessThanOrEqual(timeouts.headersMs + CHECK_INTERVAL_MS + MARGIN_MS);
  });

  it('a connection that sends nothing: 408 and closed within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const { response, heldMs } = await (await open(api.url, 'silent')).done;
    expect(statusOf(response), response).toBe(408);
    expect(heldMs).toBeLessThanOrEqual(timeouts.headersMs + CHECK_INTERVAL_MS + MARGIN_MS);
  });

  it('a chunked body that stalls: 408 with a message, closed within HTTP_BODY_IDLE_TIMEOUT_MS', async () => {
    const { response, heldMs } = await (await open(api.url, 'body')).done;
    expect(statusOf(response), response).toBe(408);
    const text = bodyOf(response);
    const body = JSON.parse(text);
    expect(body.message).toMatch(/stalled/);
    assertInContract({ method: 'POST', url: `${api.url}/orders`, status: 408, headers: headersOf(response), text, body });
    expect(headersOf(response).get('connection')).toBe('close');
    expect(heldMs).toBeGreaterThanOrEqual(timeouts.bodyIdleMs - 100);
    // Its own timer, not Node's checks: no check interval in this bound.
    expect(heldMs).toBeLessThanOrEqual(timeouts.bodyIdleMs + MARGIN_MS);
  });

  it('a body that keeps trickling: 408 and closed within HTTP_REQUEST_TIMEOUT_MS', async () => {
    // A byte every 500 ms: never idle for HTTP_BODY_IDLE_TIMEOUT_MS, never finished.
    const { response, heldMs } = await (await open(api.url, 'trickle')).done;
    expect(statusOf(response), response).toBe(408);
    expect(heldMs).toBeGreaterThanOrEqual(timeouts.requestMs - 100);
    expect(heldMs).toBeLessThanOrEqual(timeouts.requestMs + CHECK_INTERVAL_MS + MARGIN_MS);
  });
});

describe('2,000 stalled connections at once', () => {
  // Longer limits here, so that all of them are open together while other clients are served.
  const timeouts = { headersMs: 15_000, bodyIdleMs: 15_000, requestMs: 20_000 };
  const COUNT = 2000;
  let api: ServiceProcess;

  beforeAll(async () => {
    api = await startApi(timeouts);
  });

  it('other clients are answered meanwhile, and every stalled one is cut within its bound', { timeout: 120_000 }, async () => {
    const kinds = Array.from({ length: COUNT }, (_, i): SlowKind => (i % 2 === 0 ? 'headers' : 'body'));
    const stalled = await openSlowClients(api.url, kinds);
    clients.push(...stalled);
    const openCounts: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const live = await request(`${api.url}/health/live`, { signal: AbortSignal.timeout(5000) });
      expect(live.status).toBe(200);
      const list = await request(`${api.url}/orders?limit=1`, { signal: AbortSignal.timeout(5000) });
      expect(list.status, list.text).toBe(200);
      openCounts.push(stalled.filter((client) => !client.closed()).length);
    }
    // The answers came while (nearly) all of them were still held open.
    expect(Math.min(...openCounts)).toBeGreaterThanOrEqual(COUNT * 0.95);

    const results = await Promise.all(stalled.map((client) => client.done));
    for (const [i, { response, heldMs }] of results.entries()) {
      expect(statusOf(response), response).toBe(408);
      const bound = kinds[i] === 'headers' ? timeouts.headersMs + CHECK_INTERVAL_MS : timeouts.bodyIdleMs;
      expect(heldMs, `${kinds[i]} #${i}`).toBeLessThanOrEqual(bound + MARGIN_MS + 2000);
    }
  });
});
