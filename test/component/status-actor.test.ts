import { beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../domain/accounts.js';
import { AccountsRepository, type CreatedApiKey } from '../../prisma/accounts-repository.js';
import { createPrismaClient } from '../../prisma/client.js';
import { testConfig } from '../support/config.js';
import { postJson, request } from '../support/http.js';
import { reachedExchange, uniqueInstrument } from '../support/orders.js';
import { type Stack, useStack } from '../support/stack.js';
import { venueControl } from '../support/venue.js';
import { waitFor } from '../support/wait.js';

// Who caused each status an order took (order_events.actor, the order's history): the key id of
// the client whose cancel won, the system for everything else. Through the real API, worker,
// venue and ingestion: a cancel of an order working at the venue ends with the venue's report,
// written by the ingestion process; one of an order never placed, by the workflow's own step.
const atVenue = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0' });
// The exchange of this worker refuses every order as unreachable: the order stays placeable
// until a cancel wins, which the workflow then records itself (placing -> cancelled).
const neverPlaced = useStack(
  {},
  {
    worker: {
      exchange: {
        async placeOrder() {
          throw Object.assign(new Error('exchange unreachable'), { name: 'OrderPlacementError' });
        },
        async cancelOrder() {
          return { outcome: 'cancelled', cumQty: 0 };
        },
      },
    },
  },
);

let key: CreatedApiKey;
let secondKey: CreatedApiKey;
const bearer = (created: CreatedApiKey) => ({ Authorization: `Bearer ${created.apiKey}` });

beforeAll(async () => {
  const config = testConfig();
  const db = createPrismaClient({ url: config.DATABASE_URL, poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
  try {
    const accounts = new AccountsRepository(db);
    const account = `actor-${Math.random().toString(36).slice(2, 10)}`;
    key = await accounts.createKey(account);
    secondKey = await accounts.createKey(account);
  } finally {
    await db.$disconnect();
  }
});

/** A buy limit far below any price, good till cancelled: it rests at the venue until filled by hand or cancelled. */
const restingOrder = (quantity: number) => ({
  type: 'limit',
  side: 'buy',
  instrument: uniqueInstrument('AC'),
  limit_price: '0.01',
  quantity,
  time_in_force: 'gtc',
});

async function statusOf(stack: Stack, id: string, headers: Record<string, string>): Promise<string> {
  const order = await request(`${stack.api.url}/orders/${id}`, { headers });
  expect(order.status).toBe(200);
  return order.body.status as string;
}

async function untilStatus(stack: Stack, id: string, headers: Record<string, string>, done: (status: string) => boolean) {
  return waitFor(
    async () => {
      const status = await statusOf(stack, id, headers);
      return done(status) ? status : undefined;
    },
    90_000,
    `order ${id}`,
  );
}

/** The order's history as stored: each status with who caused it, oldest first. */
async function history(stack: Stack, id: string): Promise<{ status: string; actor: string }[]> {
  const { rows } = await stack.db.query('SELECT status::text AS status, actor FROM order_events WHERE order_id = $1 ORDER BY id', [id]);
  return rows;
}

async function cancel(stack: Stack, id: string, headers: Record<string, string>) {
  const answer = await request(`${stack.api.url}/orders/${id}`, { method: 'DELETE', headers });
  expect([200, 202]).toContain(answer.status);
  expect(await untilStatus(stack, id, headers, (status) => status === 'cancelled')).toBe('cancelled');
}

/** Every status but `cancelled` is the system's; `cancelled` is `cancelledBy`'s. */
function expectActors(events: { status: string; actor: string }[], cancelledBy: string) {
  expect(events.at(-1)).toEqual({ status: 'cancelled', actor: cancelledBy });
  for (const event of events.slice(0, -1)) expect(event).toEqual({ status: event.status, actor: SYSTEM_ACTOR });
}

describe("an order's history names who caused each status", () => {
  it('a cancel at the venue by an account key: the venue’s cancelled report records the key id; fills and placement the system', {
    timeout: 180_000,
  }, async () => {
    const created = await postJson(`${atVenue.api.url}/orders`, restingOrder(100), bearer(key));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await untilStatus(atVenue, id, bearer(key), reachedExchange);
    // A fill first: a status the venue's report causes, not the client.
    await venueControl('/control/fill', { order_id: id, qty: 10, px: '0.0100' });
    await untilStatus(atVenue, id, bearer(key), (status) => status === 'partially_filled');

    await cancel(atVenue, id, bearer(key));
    const events = await history(atVenue, id);
    expect(events.map((event) => event.status)).toEqual(expect.arrayContaining(['pending', 'placed', 'partially_filled', 'cancelled']));
    expectActors(events, key.keyId);
    // The client's view of the history says the same.
    const seen = await request(`${atVenue.api.url}/orders/${id}`, { headers: bearer(key) });
    expect((seen.body.events as { status: string; actor: string }[]).map(({ status, actor }) => ({ status, actor }))).toEqual(events);
  });

  it('a cancel that wins before placement records the key that asked, not another key of the account', {
    timeout: 180_000,
  }, async () => {
    const created = await postJson(`${neverPlaced.api.url}/orders`, restingOrder(5), bearer(key));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await untilStatus(neverPlaced, id, bearer(key), (status) => status === 'placing');

    await cancel(neverPlaced, id, bearer(secondKey));
    const events = await history(neverPlaced, id);
    expect(events.map((event) => event.status)).toEqual(expect.arrayContaining(['pending', 'placing', 'cancelled']));
    expectActors(events, secondKey.keyId);
  });

  it('a cancel without a key (the demo account) and a cancel that came too late are the system’s', { timeout: 180_000 }, async () => {
    // No key: the demo account, where AUTH_REQUIRED=false; no key id to record.
    const demo = await postJson(`${atVenue.api.url}/orders`, restingOrder(10));
    expect(demo.status).toBe(201);
    const demoId = demo.body.id as string;
    await untilStatus(atVenue, demoId, {}, reachedExchange);
    await cancel(atVenue, demoId, {});
    expectActors(await history(atVenue, demoId), SYSTEM_ACTOR);

    // The key asked to cancel (recorded as the DELETE records it) but the venue filled the order
    // first: the fill is the system's, whoever asked to cancel.
    const late = await postJson(`${atVenue.api.url}/orders`, restingOrder(10), bearer(key));
    expect(late.status).toBe(201);
    const lateId = late.body.id as string;
    await untilStatus(atVenue, lateId, bearer(key), reachedExchange);
    await atVenue.db.query('UPDATE orders SET cancel_requested_by = $2 WHERE id = $1', [lateId, key.keyId]);
    await venueControl('/control/fill', { order_id: lateId, qty: 10, px: '0.0100' });
    expect(await untilStatus(atVenue, lateId, bearer(key), (status) => status === 'filled')).toBe('filled');
    const events = await history(atVenue, lateId);
    expect(events.at(-1)?.status).toBe('filled');
    expect(events.filter((event) => event.actor !== SYSTEM_ACTOR)).toEqual([]);
  });
});
