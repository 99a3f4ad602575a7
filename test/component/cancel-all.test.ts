import { beforeAll, describe, expect, it } from 'vitest';
import { AccountsRepository, type CreatedApiKey } from '../../prisma/accounts-repository.js';
import { createPrismaClient } from '../../prisma/client.js';
import { testConfig } from '../support/config.js';
import { type JsonResponse, postJson, request } from '../support/http.js';
import { uniqueInstrument } from '../support/orders.js';
import { type Stack, useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// DELETE /orders through the real API, worker, venue and ingestion: one account's 200 open
// orders at the venue and another account's open orders of the same instruments. The first
// account's cancel-all cancels exactly its own, each once (one `cancelled` status in its history,
// by the key that asked), lists each exactly once, and leaves the other account's untouched.
// A budget long enough for 200 decisions on a busy machine; a 202 is handled all the same.
const stack = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0', CANCEL_BUDGET_MS: '30000' });

let caller: CreatedApiKey;
let other: CreatedApiKey;
const bearer = (created: CreatedApiKey) => ({ Authorization: `Bearer ${created.apiKey}` });

beforeAll(async () => {
  const db = createPrismaClient({ url: testConfig().DATABASE_URL, poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
  try {
    const accounts = new AccountsRepository(db);
    const suffix = Math.random().toString(36).slice(2, 10);
    caller = await accounts.createKey(`cancel-all-${suffix}`);
    other = await accounts.createKey(`cancel-all-other-${suffix}`);
  } finally {
    await db.$disconnect();
  }
});

interface CancelAllBody {
  cancelled: string[];
  not_cancelled: { id: string; reason: string }[];
  pending: string[];
  has_more: boolean;
}

/** A buy limit far below any price, good till cancelled: it rests at the venue until cancelled. */
const restingOrder = (instrument: string) => ({
  type: 'limit',
  side: 'buy',
  instrument,
  limit_price: '0.01',
  quantity: 10,
  time_in_force: 'gtc',
});

/** Places `count` resting orders for `key`, `batch` at a time; their ids. */
async function placeResting(key: CreatedApiKey, instruments: string[], count: number, batch = 25): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += batch) {
    const created = await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, (_, i) =>
        postJson(`${stack.api.url}/orders`, restingOrder(instruments[(start + i) % instruments.length]!), bearer(key)),
      ),
    );
    for (const answer of created) {
      expect(answer.status, answer.text).toBe(201);
      ids.push(answer.body.id as string);
    }
  }
  return ids;
}

/** Waits until every one of `ids` works at the venue (`placed`), so that each cancel is the venue's. */
async function untilPlaced(s: Stack, ids: string[]): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await s.db.query("SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'placed'", [ids]);
      return rows[0].n === ids.length ? true : undefined;
    },
    120_000,
    `${ids.length} orders placed at the venue`,
  );
}

async function statuses(s: Stack, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await s.db.query('SELECT id::text, status::text FROM orders WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((row: { id: string; status: string }) => [row.id, row.status]));
}

/** Each order's `cancelled` rows in its history (order_events), with who caused them. */
async function cancelledEvents(s: Stack, ids: string[]): Promise<Map<string, string[]>> {
  const { rows } = await s.db.query(
    "SELECT order_id::text AS id, actor FROM order_events WHERE order_id = ANY($1::uuid[]) AND status = 'cancelled'",
    [ids],
  );
  const byOrder = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const row of rows as { id: string; actor: string }[]) byOrder.get(row.id)?.push(row.actor);
  return byOrder;
}

const cancelAll = (key: CreatedApiKey, query = '', headers: Record<string, string> = {}): Promise<JsonResponse> =>
  request(`${stack.api.url}/orders${query}`, { method: 'DELETE', headers: { ...bearer(key), ...headers } });

/** Every id the answer lists, in any of its lists. */
const listed = (body: CancelAllBody) => [...body.cancelled, ...body.not_cancelled.map((entry) => entry.id), ...body.pending];

/** After a 202: waits for the pending orders' decisions. */
async function untilDecided(s: Stack, ids: string[]): Promise<void> {
  await waitFor(
    async () => {
      const now = await statuses(s, ids);
      return ids.every((id) => ['cancelled', 'filled', 'expired', 'rejected'].includes(now.get(id) ?? '')) ? true : undefined;
    },
    120_000,
    `the decisions on ${ids.length} pending cancels`,
  );
}

describe('DELETE /orders', () => {
  it("cancels every open order of the caller's account, each once, and no other account's", { timeout: 600_000 }, async () => {
    const instruments = [uniqueInstrument('CA'), uniqueInstrument('CB')];
    const mine = await placeResting(caller, instruments, 200);
    const theirs = await placeResting(other, instruments, 12);
    await untilPlaced(stack, [...mine, ...theirs]);

    const answer = await cancelAll(caller);
    expect([200, 202], answer.text).toContain(answer.status);
    const body = answer.body as unknown as CancelAllBody;
    // Every one of the caller's orders exactly once, none of the other account's.
    const ids = listed(body);
    expect(ids).toHaveLength(mine.length);
    expect(new Set(ids)).toEqual(new Set(mine));
    expect(body.has_more).toBe(false);
    // Resting far below the price, none can fill: each is cancelled (or, after a 202, will be).
    expect(body.not_cancelled).toEqual([]);
    if (answer.status === 200) expect(body.pending).toEqual([]);
    else await untilDecided(stack, body.pending);

    const after = await statuses(stack, [...mine, ...theirs]);
    for (const id of mine) expect(after.get(id), id).toBe('cancelled');
    for (const id of theirs) expect(after.get(id), id).toBe('placed');
    // Decided once: exactly one `cancelled` in each order's history, by the key that asked; none for the other account.
    const events = await cancelledEvents(stack, [...mine, ...theirs]);
    for (const id of mine) expect(events.get(id), id).toEqual([caller.keyId]);
    for (const id of theirs) expect(events.get(id), id).toEqual([]);

    // Nothing open any more: the same call again cancels nothing.
    const again = await cancelAll(caller);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ cancelled: [], not_cancelled: [], pending: [], has_more: false });

    // The other account cancels its own (an Idempotency-Key is ignored, not refused).
    const theirCancel = await cancelAll(other, '', { 'Idempotency-Key': 'cancel-all-1' });
    expect([200, 202], theirCancel.text).toContain(theirCancel.status);
    expect(new Set(listed(theirCancel.body as unknown as CancelAllBody))).toEqual(new Set(theirs));
  });

  it('?instrument= cancels only the open orders of that instrument', { timeout: 300_000 }, async () => {
    const [wanted, kept] = [uniqueInstrument('CI'), uniqueInstrument('CK')];
    const ofWanted = await placeResting(caller, [wanted], 4);
    const ofKept = await placeResting(caller, [kept], 3);
    const othersOfWanted = await placeResting(other, [wanted], 2);
    await untilPlaced(stack, [...ofWanted, ...ofKept, ...othersOfWanted]);

    const answer = await cancelAll(caller, `?instrument=${wanted}`);
    expect([200, 202], answer.text).toContain(answer.status);
    const body = answer.body as unknown as CancelAllBody;
    expect(new Set(listed(body))).toEqual(new Set(ofWanted));
    expect(listed(body)).toHaveLength(ofWanted.length);
    if (answer.status === 202) await untilDecided(stack, body.pending);

    const after = await statuses(stack, [...ofWanted, ...ofKept, ...othersOfWanted]);
    for (const id of ofWanted) expect(after.get(id), id).toBe('cancelled');
    for (const id of [...ofKept, ...othersOfWanted]) expect(after.get(id), id).toBe('placed');

    // Clean up: the rest of both accounts' orders.
    for (const key of [caller, other]) expect([200, 202]).toContain((await cancelAll(key)).status);
  });

  it('refuses a bad instrument, a repeated one, unknown parameters (422 naming each) and a bad key (401), and cancels nothing', {
    timeout: 120_000,
  }, async () => {
    const [open] = await placeResting(caller, [uniqueInstrument('CR')], 1);
    await untilPlaced(stack, [open!]);
    const cases: [string, unknown[]][] = [
      ['?instrument=US037', [{ loc: ['query', 'instrument'], msg: 'String should have exactly 12 characters', type: 'string_length' }]],
      [
        '?instrument=US0378331005&instrument=US0378331005',
        [{ loc: ['query', 'instrument'], msg: 'Parameter should be given once', type: 'value_error' }],
      ],
      ['?instrument=US037833100%00', [expect.objectContaining({ loc: ['query', 'instrument'], type: 'string_control_character' })]],
      [
        '?status=placed&id=x',
        [
          { loc: ['query', 'status'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
          { loc: ['query', 'id'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
        ],
      ],
    ];
    for (const [query, detail] of cases) {
      const answer = await cancelAll(caller, query);
      expect(answer.status, `${query}: ${answer.text}`).toBe(422);
      expect(answer.body, query).toEqual({ detail });
    }
    // Access as on every order route: a bad key is refused before anything is read.
    const badKey = await request(`${stack.api.url}/orders`, { method: 'DELETE', headers: { Authorization: 'Bearer obk_not-a-key' } });
    expect(badKey.status).toBe(401);
    expect(badKey.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await statuses(stack, [open!])).get(open!)).toBe('placed');
    expect((await cancelledEvents(stack, [open!])).get(open!)).toEqual([]);
    // A key's request is counted against its account's rate limit, as every order route's.
    const last = await cancelAll(caller);
    expect([200, 202]).toContain(last.status);
    expect(last.headers.get('ratelimit-policy')).toMatch(/per-account/);
  });
});
