import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { testConfig } from '../support/config.js';
import { postJson, request } from '../support/http.js';
import { bearer, type CreatedKey, createKey, revokeKey } from '../support/keys.js';
import { metricValue, scrape } from '../support/metrics.js';
import { postWithUnfinishedBody } from '../support/middleware-app.js';
import { blackhole } from '../support/network.js';
import { marketOrder, uniqueInstrument } from '../support/orders.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { openEventStream } from '../support/sse.js';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// Accounts and API keys against the real API (keys required, as in production), worker,
// PostgreSQL and Temporal; the keys made and revoked with the documented command. The rate
// limit and revocation across processes run real API processes.
const stack = useStack({ AUTH_REQUIRED: 'true' });
const databaseUrl = () => stack.config.DATABASE_URL;
const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
const cleanups: (() => Promise<unknown>)[] = [];
let alice: CreatedKey;
let bob: CreatedKey;

beforeAll(async () => {
  [alice, bob] = await Promise.all([createKey(databaseUrl(), unique('alice')), createKey(databaseUrl(), unique('bob'))]);
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function ordersOfInstrument(instrument: string): Promise<number> {
  const { rows } = await stack.db.query<{ count: string }>('SELECT count(*)::text AS count FROM orders WHERE instrument = $1', [
    instrument,
  ]);
  return Number(rows[0]!.count);
}

/** The orders each key placed in this file, by key id. */
const placedBy = new Map<string, Set<string>>();

async function place(key: CreatedKey, body: object = marketOrder(uniqueInstrument('ACC')), headers: Record<string, string> = {}) {
  const answer = await postJson(`${stack.api.url}/orders`, body, { ...bearer(key.api_key), ...headers });
  expect(answer.status, answer.text).toBe(201);
  const order = answer.body as { id: string; status: string; client_order_id: string | null };
  placedBy.set(key.key_id, (placedBy.get(key.key_id) ?? new Set()).add(order.id));
  return order;
}

describe('authentication', () => {
  it('refuses missing, malformed, unknown and revoked keys with 401 and the Bearer challenge, and stores nothing', {
    timeout: 120_000,
  }, async () => {
    const revoked = await createKey(databaseUrl(), unique('revoked'));
    await revokeKey(databaseUrl(), revoked.key_id);
    const unknown = `obk_${'a'.repeat(12)}_${'b'.repeat(43)}`;
    const cases: [string, Record<string, string>, RegExp][] = [
      ['missing', {}, /^Bearer\b/],
      ['another scheme', { Authorization: 'Basic dXNlcjpwYXNz' }, /^Bearer\b/],
      ['malformed', { Authorization: 'Bearer not-a-key' }, /^Bearer error="invalid_token"/],
      ['unknown', { Authorization: `Bearer ${unknown}` }, /^Bearer error="invalid_token"/],
      ['a wrong secret', { Authorization: `Bearer ${alice.api_key.slice(0, -3)}xyz` }, /^Bearer error="invalid_token"/],
      ['revoked', bearer(revoked.api_key), /^Bearer error="invalid_token"/],
    ];
    const instrument = uniqueInstrument('NOKEY');
    for (const [name, headers, challenge] of cases) {
      for (const answer of [
        await postJson(`${stack.api.url}/orders`, marketOrder(instrument), headers),
        await request(`${stack.api.url}/orders`, { headers }),
        await request(`${stack.api.url}/orders/${randomUUID()}`, { headers }),
        await request(`${stack.api.url}/events`, { headers }),
      ]) {
        expect(answer.status, `${name}: ${answer.text}`).toBe(401);
        expect(answer.headers.get('www-authenticate'), name).toMatch(challenge);
        expect(answer.body).toEqual({ message: expect.any(String) });
      }
    }
    expect(await ordersOfInstrument(instrument)).toBe(0);
    // Health and the docs need no key.
    expect((await request(`${stack.api.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${stack.api.url}/openapi.json`)).status).toBe(200);
  });

  it("answers 401 before reading a POST's body: the answer comes while the body is still unsent", async () => {
    const port = Number(new URL(stack.api.url).port);
    const post = postWithUnfinishedBody(port, {}, '/orders');
    try {
      const head = await post.answer;
      expect(head).toMatch(/^HTTP\/1\.1 401 /);
      expect(head).toMatch(/^WWW-Authenticate: Bearer/im);
      expect(head).toMatch(/^Connection: close/im);
    } finally {
      post.destroy();
    }
  });
});

describe('two accounts', () => {
  it('each sees only its own orders: reads, lists, executions and cancels of the other answer 404 as an unknown id does', {
    timeout: 120_000,
  }, async () => {
    const mine = await place(alice);
    const theirs = await place(bob);
    const asBob = bearer(bob.api_key);
    const asAlice = bearer(alice.api_key);

    const other = await request(`${stack.api.url}/orders/${mine.id}`, { headers: asBob });
    const unknownId = randomUUID();
    const unknown = await request(`${stack.api.url}/orders/${unknownId}`, { headers: asBob });
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(other.text.replace(mine.id, 'ID')).toBe(unknown.text.replace(unknownId, 'ID'));
    expect((await request(`${stack.api.url}/orders/${mine.id}/executions`, { headers: asBob })).status).toBe(404);
    expect((await request(`${stack.api.url}/orders/${mine.id}`, { headers: asAlice })).status).toBe(200);
    expect((await request(`${stack.api.url}/orders/${mine.id}/executions`, { headers: asAlice })).status).toBe(200);

    // Bob's account is new: its list is its one order, whatever else the database holds.
    const bobsList = await request(`${stack.api.url}/orders?limit=100`, { headers: asBob });
    expect(bobsList.status).toBe(200);
    expect((bobsList.body as { data: { id: string }[] }).data.map((order) => order.id)).toEqual([theirs.id]);
    const alicesList = await request(`${stack.api.url}/orders?limit=100`, { headers: asAlice });
    expect((alicesList.body as { data: { id: string }[] }).data.map((order) => order.id)).toEqual([mine.id]);

    // Bob cancelling Alice's order: 404, and nothing recorded on it.
    const cancel = await request(`${stack.api.url}/orders/${mine.id}`, { method: 'DELETE', headers: asBob });
    expect(cancel.status).toBe(404);
    const { rows } = await stack.db.query<{ cancel_requested_by: string | null; status: string }>(
      'SELECT cancel_requested_by, status FROM orders WHERE id = $1',
      [mine.id],
    );
    expect(rows[0]!.cancel_requested_by).toBeNull();
    expect(rows[0]!.status).not.toBe('cancelled');
  });

  it("each account's event stream carries only its own orders' events", { timeout: 120_000 }, async () => {
    const alices = await openEventStream(`${stack.api.url}/events`, bearer(alice.api_key));
    const bobs = await openEventStream(`${stack.api.url}/events`, bearer(bob.api_key));
    cleanups.push(
      async () => alices.close(),
      async () => bobs.close(),
    );
    // Bob asking for Alice's order by id sees what an unknown id shows: nothing.
    const mine = await place(alice);
    const peek = await openEventStream(`${stack.api.url}/events?order_id=${mine.id}`, bearer(bob.api_key));
    cleanups.push(async () => peek.close());
    const theirs = await place(bob);
    const sawPlaced = (id: string) => (events: { data: { order_id: string; order: { status: string } } }[]) =>
      events.some((event) => event.data.order_id === id && event.data.order.status !== 'pending' && event.data.order.status !== 'accepted');
    await alices.until(sawPlaced(mine.id), "Alice's order past acceptance in her stream", 60_000);
    await bobs.until(sawPlaced(theirs.id), "Bob's order past acceptance in his stream", 60_000);
    // Bob's order came after Alice's; once Bob's stream has his, Alice's events are behind it.
    const mineAgain = await place(alice);
    await alices.until(sawPlaced(mineAgain.id), "Alice's second order in her stream", 60_000);
    const bobsLater = await place(bob);
    await bobs.until(sawPlaced(bobsLater.id), "Bob's second order in his stream", 60_000);
    // Earlier orders of the same account may still be filling: each stream holds its account's orders only.
    const idsOf = (stream: typeof alices) => new Set(stream.events.map((event) => event.data.order_id as string));
    expect([...idsOf(alices)].filter((id) => !placedBy.get(alice.key_id)!.has(id))).toEqual([]);
    expect([...idsOf(bobs)].filter((id) => !placedBy.get(bob.key_id)!.has(id))).toEqual([]);
    expect(peek.events).toEqual([]);
    expect([...alices.problems, ...bobs.problems]).toEqual([]);
  });

  it('the same Idempotency-Key in two accounts makes two orders; a replay in one account is that account’s order', async () => {
    const key = unique('idem');
    const body = marketOrder(uniqueInstrument('IDEM'));
    const first = await place(alice, body, { 'Idempotency-Key': key });
    const second = await place(bob, body, { 'Idempotency-Key': key });
    expect(second.id).not.toBe(first.id);
    const replay = await postJson(`${stack.api.url}/orders`, body, { ...bearer(alice.api_key), 'Idempotency-Key': key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((replay.body as { id: string }).id).toBe(first.id);
  });

  it('client_order_id is unique per account: a duplicate answers 409 with the existing order id; another account may use it', async () => {
    const clientOrderId = unique('coid');
    const body = { ...marketOrder(uniqueInstrument('COID')), client_order_id: clientOrderId };
    const first = await place(alice, body);
    expect(first.client_order_id).toBe(clientOrderId);
    const duplicate = await postJson(`${stack.api.url}/orders`, body, bearer(alice.api_key));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toEqual({ message: expect.stringContaining(clientOrderId), order_id: first.id });
    const elsewhere = await place(bob, body);
    expect(elsewhere.id).not.toBe(first.id);
    const found = await request(`${stack.api.url}/orders?client_order_id=${clientOrderId}`, { headers: bearer(bob.api_key) });
    expect((found.body as { data: { id: string }[] }).data.map((order) => order.id)).toEqual([elsewhere.id]);
  });
});

/** Real API processes on the stack's task queue, keys required (the production default, AUTH_REQUIRED unset). */
async function apiProcesses(count: number, env: Record<string, string> = {}): Promise<ServiceProcess[]> {
  const apis = await Promise.all(
    Array.from({ length: count }, () =>
      startService('api', {
        DATABASE_URL: databaseUrl(),
        TEMPORAL_ADDRESS: stack.config.TEMPORAL_ADDRESS,
        TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
        // Empty counts as unset: the production default applies.
        AUTH_REQUIRED: '',
        ...env,
      }),
    ),
  );
  for (const api of apis) cleanups.push(() => api.kill('SIGTERM'));
  return apis;
}

describe('across API processes', () => {
  it('the production entry point requires a key: the plain POST answers 401', { timeout: 240_000 }, async () => {
    const [api] = await apiProcesses(1);
    const plain = await postJson(`${api!.url}/orders`, marketOrder(uniqueInstrument('PROD')));
    expect(plain.status).toBe(401);
    const keyed = await postJson(`${api!.url}/orders`, marketOrder(uniqueInstrument('PROD')), bearer(alice.api_key));
    expect(keyed.status, keyed.text).toBe(201);
  });

  it('shares the rate limit: an account gets its limit in total from two processes, then 429 with Retry-After', {
    timeout: 240_000,
  }, async () => {
    const LIMIT = 20;
    const apis = await apiProcesses(2, { RATE_LIMIT_PER_MINUTE: String(LIMIT), RATE_LIMIT_BURST: '0' });
    const key = await createKey(databaseUrl(), unique('limited'));
    let allowed = 0;
    let refusedRounds = 0;
    let lastRefusal: Awaited<ReturnType<typeof request>> | undefined;
    for (let round = 0; round < 100 && refusedRounds < 3; round++) {
      const answers = await Promise.all(apis.map((api) => request(`${api.url}/orders?limit=1`, { headers: bearer(key.api_key) })));
      for (const answer of answers) {
        expect(answer.headers.get('ratelimit-policy')).toBe(`"per-account";q=${LIMIT};w=60`);
        expect(answer.headers.get('ratelimit')).toMatch(/^"per-account";r=\d+;t=\d+$/);
        if (answer.status === 200) allowed += 1;
        else {
          expect(answer.status).toBe(429);
          lastRefusal = answer;
        }
      }
      refusedRounds = answers.every((answer) => answer.status === 429) ? refusedRounds + 1 : 0;
    }
    expect(allowed).toBe(LIMIT);
    expect(Number(lastRefusal!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(lastRefusal!.body).toEqual({ message: expect.stringMatching(/Rate limit exceeded/) });
    // Another account has its own limit, on the same processes.
    const other = await createKey(databaseUrl(), unique('unlimited'));
    expect((await request(`${apis[0]!.url}/orders?limit=1`, { headers: bearer(other.api_key) })).status).toBe(200);
  });

  it('refuses a revoked key in a running process within AUTH_CACHE_TTL_MS', { timeout: 240_000 }, async () => {
    const TTL_MS = 2000;
    const [api] = await apiProcesses(1, { AUTH_CACHE_TTL_MS: String(TTL_MS) });
    const key = await createKey(databaseUrl(), unique('revoking'));
    // Used once: the process has the key in its cache.
    expect((await request(`${api!.url}/orders?limit=1`, { headers: bearer(key.api_key) })).status).toBe(200);
    await revokeKey(databaseUrl(), key.key_id);
    const revokedAt = Date.now();
    await waitFor(
      async () => ((await fetch(`${api!.url}/orders?limit=1`, { headers: bearer(key.api_key) })).status === 401 ? true : undefined),
      60_000,
      'the revoked key refused',
    );
    // The documented bound, with slack for a busy machine's late timers and the request's own time.
    expect(Date.now() - revokedAt).toBeLessThan(TTL_MS + 3000);
  });
});

describe('the limiter storage down', () => {
  it('lets orders through (fail open), and counts the failures', { timeout: 120_000 }, async () => {
    const hung = await blackhole();
    cleanups.push(hung.close);
    const api = await startApiServer(
      testConfig({
        AUTH_REQUIRED: 'true',
        RATE_LIMIT_PER_MINUTE: '200',
        RATE_LIMIT_DATABASE_URL: `postgresql://postgres:postgres@127.0.0.1:${hung.port}/orders`,
        RATE_LIMIT_STORAGE_TIMEOUT_MS: '300',
        TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
      }),
      createLogger('api', 'silent'),
    );
    cleanups.push(() => api.close());
    for (let i = 0; i < 3; i++) {
      const answer = await postJson(`${api.url}/orders`, marketOrder(uniqueInstrument('OPEN')), bearer(alice.api_key));
      expect(answer.status, answer.text).toBe(201);
      expect(answer.headers.get('ratelimit-policy')).toMatch(/^"per-account";q=200;w=60/);
    }
    const samples = await scrape(`${api.managementUrl}/metrics`);
    expect(metricValue(samples, 'rate_limiter_failures_total', { limiter: 'account' })).toBeGreaterThanOrEqual(1);
  });
});
