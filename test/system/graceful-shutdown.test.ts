import http from 'node:http';
import getPort from 'get-port';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { readLedger } from '../../exchange/exchange-ledger.js';
import { testConfig } from '../support/config.js';
import { metricValue, scrape } from '../support/metrics.js';
import { reachedExchange } from '../support/orders.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

// SIGTERM to real API and worker processes while orders flow: nothing accepted is lost, nothing
// is placed twice.

const cleanups: (() => Promise<unknown>)[] = [];
let db: pg.Client;

beforeAll(async () => {
  db = new pg.Client({ connectionString: testConfig().DATABASE_URL });
  await db.connect();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await db?.end();
});

type Outcome = { key: string; status: number; body: string } | { key: string; error: string };

/**
 * POST /orders on a connection of its own (no keep-alive), so that what happens to this request
 * is not confused with what happens to a connection kept from an earlier one. With `bodyDelay`
 * the body is sent in two halves with that promise in between (a request in flight for that
 * long); `onConnect` is told when the connection is established.
 */
function postOnce(
  url: string,
  key: string,
  body: unknown,
  options: { bodyDelay?: Promise<unknown>; onConnect?: () => void } = {},
): Promise<Outcome> {
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    const request = http.request(
      `${url}/orders`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'idempotency-key': key },
      },
      (response) => {
        let answer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (answer += chunk));
        response.on('end', () => resolve({ key, status: response.statusCode ?? 0, body: answer }));
        response.on('error', (error: NodeJS.ErrnoException) => resolve({ key, error: error.code ?? error.message }));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ key, error: error.code ?? error.message }));
    if (options.onConnect) request.on('socket', (socket) => socket.once('connect', options.onConnect!));
    if (options.bodyDelay) {
      const half = Math.floor(text.length / 2);
      request.write(text.slice(0, half));
      void options.bodyDelay.then(() => request.end(text.slice(half)));
    } else {
      request.end(text);
    }
  });
}

async function statuses(ids: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; status: string }>('SELECT id, status FROM orders WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((row) => [row.id, row.status]));
}

async function allPlaced(ids: string[], timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const now = await statuses(ids);
      return ids.every((id) => reachedExchange(now.get(id) ?? '')) ? true : undefined;
    },
    timeoutMs,
    `all ${ids.length} accepted orders placed`,
  );
}

describe('SIGTERM to the API under load', () => {
  it('answers every request it accepted, and every 201 ends placed', { timeout: 240_000 }, async () => {
    const config = testConfig({ EXCHANGE_LATENCY_MS: '20' });
    const env = {
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      EXCHANGE_LATENCY_MS: '20',
      EXCHANGE_FAILURE_RATE: '0',
    };
    const worker = await startService('worker', env);
    cleanups.push(() => worker.kill('SIGTERM'));
    // Two seconds of draining: readiness already says 503 while the listener still takes requests.
    const api = await startService('api', { ...env, SHUTDOWN_DRAIN_DELAY_MS: '2000', LOG_LEVEL: 'info' });
    cleanups.push(() => api.kill());
    const run = Math.random().toString(36).slice(2, 8);
    const outcomes: Outcome[] = [];
    let sent = 0;
    let stop = false;

    // Eight clients, each sending one order after another until the API is gone (or a bound).
    const client = async () => {
      while (!stop && sent < 2000) {
        sent += 1;
        const outcome = await postOnce(api.url, `shutdown-${run}-${sent}`, {
          type: 'market',
          side: 'buy',
          instrument: 'SHUTDOWNAPI1',
          quantity: sent,
        });
        outcomes.push(outcome);
        if ('error' in outcome && outcome.error === 'ECONNREFUSED') return; // the listener is closed
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await waitFor(
      async () => (outcomes.filter((o) => 'status' in o && o.status === 201).length >= 30 ? true : undefined),
      60_000,
      '30 orders accepted',
    );

    // One request certainly in flight at the signal: connected before it, its body sent only after.
    let sendRest!: () => void;
    let connected!: () => void;
    const slowConnected = new Promise<void>((resolve) => (connected = resolve));
    const slow = postOnce(
      api.url,
      `shutdown-${run}-slow`,
      { type: 'limit', side: 'sell', instrument: 'SHUTDOWNAPI1', quantity: 1, limit_price: '1.25' },
      { bodyDelay: new Promise<void>((resolve) => (sendRest = resolve)), onConnect: connected },
    );
    await slowConnected;

    const signalled = performance.now();
    api.child.kill('SIGTERM');
    // Readiness turns 503 at once, while the listener (for the drain delay) still answers.
    const readiness = await waitFor(
      async () => {
        const response = await fetch(`${api.url}/health/ready`);
        // A dependency check may also fail under load; wait for the shutdown's own 503.
        const body = response.status === 503 ? ((await response.json()) as { status: string; checks: Record<string, unknown> }) : undefined;
        return body?.checks.shutdown ? body : undefined;
      },
      5_000,
      'readiness to turn 503',
    );
    expect(readiness).toMatchObject({ status: 'unready', checks: { shutdown: { status: 'fail' } } });
    expect(performance.now() - signalled).toBeLessThan(2000);
    sendRest();

    await api.exited();
    stop = true;
    await Promise.all(clients);
    expect(api.child.exitCode).toBe(0);
    expect(api.output()).toContain('API stopped');

    // The request in flight at the signal was answered, and accepted.
    const slowOutcome = await slow;
    expect(slowOutcome).toMatchObject({ status: 201 });

    // Every request got an answer, or was refused before the API took it: a connection refused,
    // or (rarely: a connection still queued in the kernel when the listener closed) cut before
    // any of it was read, which leaves no order behind.
    const all = [...outcomes, slowOutcome];
    const answered = all.filter((o): o is Extract<Outcome, { status: number }> => 'status' in o);
    const failed = all.filter((o): o is Extract<Outcome, { error: string }> => 'error' in o);
    expect(answered.every((o) => o.status === 201)).toBe(true);
    expect(failed.every((o) => ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(o.error))).toBe(true);
    const { rows: leftBehind } = await db.query<{ idempotency_key: string; status: string }>(
      'SELECT idempotency_key, status FROM orders WHERE idempotency_key = ANY($1::text[])',
      [failed.map((o) => o.key)],
    );
    expect(leftBehind).toEqual([]);
    console.log(
      `API SIGTERM under load: ${answered.length} answered (all 201), ${failed.filter((o) => o.error === 'ECONNREFUSED').length} refused, ` +
        `${failed.filter((o) => o.error !== 'ECONNREFUSED').length} cut before being read`,
    );

    const ids = answered.map((o) => (JSON.parse(o.body) as { id: string }).id);
    await allPlaced(ids, 120_000);
    const ledger = (await readLedger(config.DATABASE_URL)).filter((entry) => ids.includes(entry.orderId));
    expect(ledger).toHaveLength(ids.length);
    expect(ledger.every((entry) => entry.status === 'accepted' && entry.duplicateSubmissions === 0)).toBe(true);
  });
});

describe('SIGTERM to the worker mid-placement', () => {
  it('finishes the exchange calls in flight, and every accepted order ends placed exactly once', { timeout: 300_000 }, async () => {
    const ORDERS = 40;
    const INSTRUMENT = 'SHUTDOWNWRK1';
    const config = testConfig();
    // Slow exchange calls (1.5 s each), so that several are in flight at the signal.
    const workerEnv = {
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      EXCHANGE_LATENCY_MS: '1500',
      EXCHANGE_FAILURE_RATE: '0',
    };
    const api: ApiServer = await startApiServer(config, createLogger('api', 'silent'));
    cleanups.push(() => api.close());
    const metricsPort = await getPort();
    const first: ServiceProcess = await startService('worker', { ...workerEnv, WORKER_METRICS_PORT: String(metricsPort) });
    cleanups.push(() => first.kill());

    const ids: string[] = [];
    let next = 0;
    const poster = async () => {
      while (next < ORDERS) {
        next += 1;
        const response = await fetch(`${api.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'market', side: 'buy', instrument: INSTRUMENT, quantity: next }),
        });
        expect(response.status).toBe(201);
        ids.push(((await response.json()) as { id: string }).id);
      }
    };
    await Promise.all(Array.from({ length: 8 }, poster));

    // Several exchange calls under way (the worker counts each call as it starts, none has ended).
    await waitFor(
      async () => {
        const samples = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
        return metricValue(samples, 'exchange_attempts_total') >= 3 ? true : undefined;
      },
      60_000,
      'exchange calls in flight',
    );
    const { rows: clock } = await db.query<{ now: Date }>('SELECT now()');
    const signalledAt = clock[0]!.now;
    first.child.kill('SIGTERM');
    await first.exited();
    expect(first.child.exitCode).toBe(0);
    expect(first.output()).toContain('worker stopped');

    // The calls in flight at the signal finished during the drain: the exchange accepted orders
    // after the SIGTERM and before the worker was gone.
    const { rows: exitClock } = await db.query<{ now: Date }>('SELECT now()');
    const drained = (await readLedger(config.DATABASE_URL)).filter(
      (entry) => ids.includes(entry.orderId) && entry.acceptedAt >= signalledAt && entry.acceptedAt <= exitClock[0]!.now,
    );
    expect(drained.length).toBeGreaterThan(0);

    const second = await startService('worker', { ...workerEnv, EXCHANGE_LATENCY_MS: '20' });
    cleanups.push(() => second.kill());
    await allPlaced(ids, 180_000);

    // Each order reached the exchange once: no call was cut after the exchange took the order.
    const ledger = (await readLedger(config.DATABASE_URL)).filter((entry) => ids.includes(entry.orderId));
    expect(ledger).toHaveLength(ORDERS);
    expect(new Set(ledger.map((entry) => entry.orderId)).size).toBe(ORDERS);
    expect(ledger.filter((entry) => entry.duplicateSubmissions > 0)).toEqual([]);
    console.log(`worker SIGTERM: ${drained.length} exchange calls in flight finished during the drain`);
  });
});
