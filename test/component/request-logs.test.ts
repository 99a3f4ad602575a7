import { Writable } from 'node:stream';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../config/logger.js';
import { AccountsRepository } from '../../prisma/accounts-repository.js';
import { createPrismaClient } from '../../prisma/client.js';
import { metricValue, scrape } from '../support/metrics.js';
import { apiStarter } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// The API's JSON log: one line per request, and every line written during a request carries its
// id (the client's X-Request-Id when sane), and the order and workflow once they are known.
type Line = Record<string, unknown>;

function memoryLog(): { lines: Line[]; stream: Writable } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { lines, stream };
}

const closes: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closes) await close();
});
const startServer = apiStarter((close) => closes.push(close));

async function startApi(overrides: Record<string, string> = {}, level = 'info') {
  const log = memoryLog();
  // No worker: a workflow start needs only the Temporal server, so POST /orders answers 201.
  const api = await startServer(overrides, createLogger('api', level, log.stream));
  return { api, lines: log.lines };
}

const ORDER = { type: 'market', side: 'buy', instrument: 'REQUESTLOG01', quantity: 3 };
function post(url: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(ORDER),
  });
}

describe('request logs', () => {
  let healthy: Awaited<ReturnType<typeof startApi>>;
  beforeAll(async () => {
    healthy = await startApi();
  });

  it('keeps a sane X-Request-Id, echoes it, and writes one line for the request with order and workflow', async () => {
    const response = await post(healthy.api.url, { 'X-Request-Id': 'client-req-0001' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('client-req-0001');
    const { id } = (await response.json()) as { id: string };
    const lines = healthy.lines.filter((line) => line.reqId === 'client-req-0001');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'POST',
      path: '/orders',
      route: '/orders',
      status: 201,
      orderId: id,
      workflowId: `order-${id}`,
    });
    expect(typeof lines[0]!.durationMs).toBe('number');

    await fetch(`${healthy.api.url}/orders/${id}`, { headers: { 'X-Request-Id': 'client-req-0002' } });
    expect(healthy.lines.find((line) => line.reqId === 'client-req-0002')).toMatchObject({
      route: '/orders/:id',
      status: 200,
      orderId: id,
    });
  });

  it('replaces an X-Request-Id that is not a sane token with its own', async () => {
    for (const incoming of ['has spaces in it', 'x'.repeat(200), 'quote"d', '']) {
      const response = await fetch(`${healthy.api.url}/orders/not-an-id`, { headers: incoming ? { 'X-Request-Id': incoming } : {} });
      const id = response.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(healthy.lines.filter((line) => line.reqId === id)).toMatchObject([{ msg: 'request', route: '/orders/:id' }]);
    }
  });

  it('writes JSON lines with ISO times and level names', () => {
    expect(healthy.lines.length).toBeGreaterThan(0);
    for (const line of healthy.lines) {
      expect(line.level).toMatch(/^(trace|debug|info|warn|error|fatal)$/);
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
    }
  });

  it('logs health probes and the docs at debug: at info they are not written', async () => {
    const debug = await startApi({}, 'debug');
    const paths = ['/health/live', '/health/ready', '/docs', '/docs/swagger-ui.css', '/openapi.json'];
    // Each asked until it succeeds: on a busy machine a readiness check can miss its deadline,
    // and a failed probe (503) is logged at info, as every failure is.
    const probe = async (url: string, path: string, prefix: string) => {
      let attempt = 0;
      await waitFor(
        async () => {
          attempt += 1;
          const response = await fetch(`${url}${path}`, {
            headers: { 'X-Request-Id': `${prefix}${path.replaceAll('/', '-')}-${attempt}` },
          });
          await response.arrayBuffer();
          return response.status < 500 ? true : undefined;
        },
        30_000,
        `${path} to succeed`,
      );
    };
    for (const path of paths) {
      await probe(healthy.api.url, path, 'quiet-info');
      await probe(debug.api.url, path, 'quiet-debug');
    }
    const succeeded = (line: Record<string, unknown>) => Number(line.status) < 500;
    const infoLines = healthy.lines.filter((line) => String(line.reqId).startsWith('quiet-info'));
    expect(infoLines.filter(succeeded)).toEqual([]);
    const debugLines = debug.lines.filter((line) => String(line.reqId).startsWith('quiet-debug') && succeeded(line));
    expect(debugLines.map((line) => line.path)).toEqual(paths);
    for (const line of debugLines) expect(line).toMatchObject({ level: 'debug', msg: 'request' });
  });

  it('puts the request id, the order and its workflow on every line of a failing request', { timeout: 30_000 }, async () => {
    const { api, lines } = await startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${await getPort()}` });
    const response = await post(api.url, { 'X-Request-Id': 'failing-req-1' });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-request-id')).toBe('failing-req-1');
    const ofRequest = lines.filter((line) => line.reqId === 'failing-req-1');
    expect(ofRequest.map((line) => line.msg)).toEqual(['request failed', 'request']);
    const [failure, summary] = ofRequest;
    expect(failure).toMatchObject({
      level: 'error',
      cause: 'temporal',
      orderId: expect.any(String),
      workflowId: expect.stringMatching(/^order-/),
    });
    expect(summary).toMatchObject({ status: 500, orderId: failure!.orderId, workflowId: failure!.workflowId });
    // Lines outside any request carry no request fields.
    expect(lines.filter((line) => line.reqId === undefined && line.orderId !== undefined)).toEqual([]);
  });
});

describe('request logs of refusals', () => {
  it('a flood of identical 401s and 429s writes the first of each kind and a summary line per interval, not a line each; the metrics count every one', {
    timeout: 120_000,
  }, async () => {
    const N = 150;
    const INTERVAL_MS = 500;
    const { api, lines } = await startApi({
      AUTH_REQUIRED: 'true',
      RATE_LIMIT_PER_MINUTE: '2',
      RATE_LIMIT_BURST: '0',
      REFUSAL_LOG_INTERVAL_MS: String(INTERVAL_MS),
    });
    const db = createPrismaClient({ url: inject('databaseUrl'), poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
    const key = await new AccountsRepository(db)
      .createKey(`request-logs-${Math.random().toString(36).slice(2, 10)}`)
      .finally(() => db.$disconnect());
    const flood = async (headers: Record<string, string>) => {
      const statuses: number[] = [];
      for (let sent = 0; sent < N; sent += 25) {
        const answers = await Promise.all(Array.from({ length: 25 }, () => post(api.url, headers)));
        for (const answer of answers) {
          statuses.push(answer.status);
          await answer.arrayBuffer();
        }
      }
      return statuses;
    };

    const started = Date.now();
    expect(new Set(await flood({}))).toEqual(new Set([401]));
    const limited = (await flood({ Authorization: `Bearer ${key.apiKey}` })).filter((status) => status === 429).length;
    expect(limited).toBe(N - 2);
    const elapsedMs = Date.now() - started;

    // Each refusal is in a line of its own or counted in a summary line: poll until all are.
    const linesOf = (status: number) => lines.filter((line) => line.status === status);
    const accounted = (status: number) =>
      linesOf(status).reduce((sum, line) => sum + (line.msg === 'request' ? 1 : Number(line.suppressed)), 0);
    await waitFor(
      async () => (accounted(401) === N && accounted(429) === limited ? true : undefined),
      30_000,
      'every refusal accounted for',
    );

    for (const [status, reason] of [
      [401, 'missing'],
      [429, 'account'],
    ] as const) {
      const [first, ...summaries] = linesOf(status);
      expect(first).toMatchObject({
        level: 'info',
        msg: 'request',
        method: 'POST',
        route: '/orders',
        status,
        reason,
        reqId: expect.any(String),
      });
      for (const summary of summaries) {
        expect(summary).toMatchObject({
          level: 'info',
          msg: 'refusals aggregated',
          method: 'POST',
          route: '/orders',
          status,
          reason,
          intervalMs: INTERVAL_MS,
        });
      }
      // The first line, then at most one a interval while the flood lasted (and one after it).
      expect(summaries.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / INTERVAL_MS) + 1);
      expect(summaries.length + 1).toBeLessThan(N / 5);
    }

    const samples = await scrape(`${api.managementUrl}/metrics`);
    expect(metricValue(samples, 'http_requests_total', { method: 'POST', route: '/orders', status: '401' })).toBe(N);
    expect(metricValue(samples, 'http_requests_total', { method: 'POST', route: '/orders', status: '429' })).toBe(limited);
    expect(metricValue(samples, 'auth_failures_total', { reason: 'missing' })).toBe(N);
    expect(metricValue(samples, 'rate_limited_requests_total', { limiter: 'account' })).toBe(limited);
  });
});
