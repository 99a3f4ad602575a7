import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../api/api-key-secrets.js';
import type { ApiServer } from '../../api/server.js';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { testConfig } from '../support/config.js';
import { request } from '../support/http.js';
import { validatorAt } from '../support/openapi-contract.js';
import { uniqueInstrument } from '../support/orders.js';
import { type EventStream, openEventStream, type ReceivedEvent } from '../support/sse.js';
import { apiStarter } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// GET /events against a real API and PostgreSQL. Events are made with SQL, as their writers make
// them: a status change of an orders row (its trigger writes the stream row) or a fill row of the
// ingestion. The database is shared with files running in parallel, whose events come through the
// unfiltered streams too: every assertion is about this file's own orders.

const closers: (() => Promise<void>)[] = [];
const startApi = apiStarter((close) => closers.push(close));
let api: ApiServer;
let db: pg.Client;

/** A small ring: reconnects often reach back past it, to the database. */
const RING = 40;

beforeAll(async () => {
  api = await startApi({ SSE_RING_SIZE: String(RING), SSE_HEARTBEAT_MS: '300' });
  db = new pg.Client({ connectionString: testConfig().DATABASE_URL });
  await db.connect();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await db?.end();
});

// ---- making events -----------------------------------------------------------------------------

async function insertOrder(quantity = 100, accountId = DEMO_ACCOUNT_ID): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO "orders" ("type", "side", "instrument", "quantity", "status", "placed_at", "account_id")
     VALUES ('market', 'buy', $1, $2, 'placed', now(), $3) RETURNING "id"`,
    [uniqueInstrument('E'), quantity, accountId],
  );
  return rows[0]!.id;
}

/** A new account and the headers of a key of it (the test's API takes keys; without one a request is the demo account's). */
async function newAccount(): Promise<{ id: string; headers: Record<string, string> }> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO "accounts" ("name") VALUES ($1) RETURNING "id"', [
    `events-${randomBytes(6).toString('hex')}`,
  ]);
  const key = generateApiKey();
  await db.query('INSERT INTO "api_keys" ("key_id", "account_id", "secret_hash") VALUES ($1, $2, $3)', [
    key.keyId,
    rows[0]!.id,
    key.secretHash,
  ]);
  return { id: rows[0]!.id, headers: { Authorization: `Bearer ${key.apiKey}` } };
}

async function setStatus(client: pg.ClientBase, orderId: string, status: string): Promise<void> {
  await client.query(`UPDATE "orders" SET "status" = $2::"OrderStatus" WHERE "id" = $1`, [orderId, status]);
}

let execCounter = 0;

/**
 * A fill as the ingestion records it: the order's aggregates, then its stream row with the report
 * and a narrow state (the fields a fill changes, ingest/batch-plan.ts stateOf; the other helpers'
 * rows carry the whole row, as fill rows written before #23 do: the stream serves both).
 */
async function insertFill(client: pg.ClientBase, orderId: string, qty = 1, price = '10.2500'): Promise<void> {
  execCounter++;
  await client.query(
    `WITH o AS (
       UPDATE "orders" SET "filled_quantity" = "filled_quantity" + $2, "filled_notional" = "filled_notional" + $2 * $3::numeric
       WHERE "id" = $1 RETURNING *)
     INSERT INTO "order_stream" ("order_id", "account_id", "kind", "state", "execution")
     SELECT o."id", o."account_id", 'fill', jsonb_build_object('status', o."status", 'filled_quantity', o."filled_quantity",
       'filled_notional', o."filled_notional"::text, 'placed_at', o."placed_at", 'filled_at', o."filled_at", 'cancelled_at', o."cancelled_at",
       'expired_at', o."expired_at", 'rejected_at', o."rejected_at", 'rejected_reason', o."rejected_reason", 'expires_at', o."expires_at"),
       jsonb_build_object(
       'exec_id', $4::text, 'exec_type', 'partial_fill', 'order_id', o."id", 'last_qty', $2::int, 'last_px', $3::text,
       'cum_qty', o."filled_quantity", 'leaves_qty', o."quantity" - o."filled_quantity", 'transact_time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
     FROM o`,
    [orderId, qty, price, `X-${process.pid}-${Date.now()}-${execCounter}`],
  );
}

/**
 * A fill's stream row alone, the order row untouched (so overlapping transactions on one order
 * do not wait for each other's row lock).
 */
async function insertFillRow(client: pg.ClientBase, orderId: string, qty: number): Promise<void> {
  await client.query(
    `INSERT INTO "order_stream" ("order_id", "account_id", "kind", "state", "execution")
     SELECT o."id", o."account_id", 'fill', to_jsonb(o), jsonb_build_object(
       'exec_id', $3::text, 'exec_type', 'partial_fill', 'order_id', o."id", 'last_qty', $2::int, 'last_px', '10.25',
       'cum_qty', $2::int, 'leaves_qty', o."quantity" - $2::int, 'transact_time', '2026-12-02T10:00:00.000Z')
     FROM "orders" o WHERE o."id" = $1`,
    [orderId, qty, `R-${process.pid}-${Date.now()}-${++execCounter}`],
  );
}

/** `count` such rows in one statement; the SSE id of the last. */
async function insertFillRows(client: pg.ClientBase, orderId: string, count: number, tag: string): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO "order_stream" ("order_id", "account_id", "kind", "state", "execution")
     SELECT o."id", o."account_id", 'fill', to_jsonb(o), jsonb_build_object(
       'exec_id', $2::text || '-' || g, 'exec_type', 'partial_fill', 'order_id', o."id", 'last_qty', 1, 'last_px', '10.25',
       'cum_qty', 1, 'leaves_qty', o."quantity" - 1, 'transact_time', '2026-12-02T10:00:00.000Z')
     FROM "orders" o, generate_series(1, $3::int) g WHERE o."id" = $1
     RETURNING ("tx"::numeric * 10000000000000 + "id")::text AS "id"`,
    [orderId, `B-${process.pid}-${tag}`, count],
  );
  return rows.map((row) => row.id).reduce((a, b) => (BigInt(a) > BigInt(b) ? a : b));
}

/** The stream's rows of these orders, in stream order, as (SSE id, order id, kind). */
async function streamRows(orderIds: string[]): Promise<{ id: string; orderId: string; kind: string }[]> {
  const { rows } = await db.query<{ id: string; order_id: string; kind: string }>(
    `SELECT ("tx"::numeric * 10000000000000 + "id")::text AS "id", "order_id", "kind" FROM "order_stream"
     WHERE "order_id" = ANY($1::uuid[]) ORDER BY "tx", "id"`,
    [orderIds],
  );
  return rows.map((row) => ({ id: row.id, orderId: row.order_id, kind: row.kind }));
}

const mine = (events: ReceivedEvent[], orderIds: string[]) => events.filter((event) => orderIds.includes(event.data?.order_id));

function expectIncreasingIds(events: ReceivedEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    expect(BigInt(events[i]!.id) > BigInt(events[i - 1]!.id), `id ${events[i]!.id} after ${events[i - 1]!.id}`).toBe(true);
  }
}

const eventsUrl = (query = '') => `${api.url}/events${query}`;

// ---- the stream --------------------------------------------------------------------------------

describe('GET /events', () => {
  it('streams status changes and fills in order, with increasing ids and the order as it stands after each', async () => {
    const stream = await openEventStream(eventsUrl());
    try {
      const orderId = await insertOrder();
      await insertFill(db, orderId, 30, '10.2500');
      await setStatus(db, orderId, 'partially_filled');
      await insertFill(db, orderId, 70, '10.5000');
      await setStatus(db, orderId, 'filled');
      const expected = await streamRows([orderId]);
      expect(expected.map((row) => row.kind)).toEqual(['status', 'fill', 'status', 'fill', 'status']);

      await stream.until((events) => mine(events, [orderId]).length >= expected.length, 'the order events');
      const received = mine(stream.events, [orderId]);
      expect(received.map((event) => event.id)).toEqual(expected.map((row) => row.id));
      expect(received.map((event) => event.event)).toEqual(expected.map((row) => row.kind));
      expectIncreasingIds(stream.events);
      expect(stream.problems).toEqual([]);

      const [placed, fill1, partial, fill2, filled] = received.map((event) => event.data);
      expect(placed).toMatchObject({ order_id: orderId, kind: 'status', execution: null, order: { id: orderId, status: 'placed' } });
      expect(fill1).toMatchObject({
        kind: 'fill',
        order: { status: 'placed', filled_quantity: 30, average_fill_price: 10.25 },
        execution: { quantity: 30, price: 10.25, cum_quantity: 30, leaves_quantity: 70, exec_type: 'partial_fill' },
      });
      expect(partial.order).toMatchObject({ status: 'partially_filled', filled_quantity: 30 });
      expect(fill2).toMatchObject({ order: { filled_quantity: 100 }, execution: { quantity: 70, cum_quantity: 100 } });
      // Σ qty × px / qty = (30 × 10.25 + 70 × 10.5) / 100, exact.
      expect(fill2.order.average_fill_price).toBe(10.425);
      expect(filled.order).toMatchObject({ status: 'filled', filled_quantity: 100, workflow_id: `order-${orderId}` });
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      // As the OpenAPI document has them: each event by its fields, its data an OrderStreamEvent.
      const eventSchema = validatorAt(['paths', '/events', 'get', 'responses', '200', 'content', 'text/event-stream', 'schema']);
      const dataSchema = validatorAt(['components', 'schemas', 'OrderStreamEvent']);
      for (const event of received) {
        expect(
          eventSchema({ id: event.id, event: event.event, data: JSON.stringify(event.data) }),
          JSON.stringify(eventSchema.errors),
        ).toBe(true);
        expect(dataSchema(event.data), JSON.stringify(dataSchema.errors)).toBe(true);
      }
    } finally {
      stream.close();
    }
  });

  it('?order_id= gives that order only', async () => {
    const [a, b] = [await insertOrder(), await insertOrder()];
    const after = (await streamRows([a])).at(-1)!.id;
    const stream = await openEventStream(eventsUrl(`?order_id=${a.toUpperCase()}`), { 'Last-Event-ID': after });
    try {
      for (let i = 0; i < 3; i++) {
        await insertFill(db, b);
        await insertFill(db, a);
      }
      await setStatus(db, b, 'cancelled');
      await setStatus(db, a, 'cancelled');
      const expected = (await streamRows([a])).slice(1); // after its insert
      await stream.until((events) => events.length >= expected.length, "a's events");
      // b's last event came before a's: had it been sent, it would be here.
      expect(stream.events.map((event) => event.id)).toEqual(expected.map((row) => row.id));
      expect(stream.events.every((event) => event.data.order_id === a)).toBe(true);
      expect(stream.problems).toEqual([]);
    } finally {
      stream.close();
    }
  });

  it('orders events of transactions that commit out of id order by transaction, and skips none', async () => {
    const orderId = await insertOrder();
    const after = (await streamRows([orderId])).at(-1)!.id;
    const stream = await openEventStream(eventsUrl(`?order_id=${orderId}`), { 'Last-Event-ID': after });
    const first = new pg.Client({ connectionString: testConfig().DATABASE_URL });
    const second = new pg.Client({ connectionString: testConfig().DATABASE_URL });
    await Promise.all([first.connect(), second.connect()]);
    try {
      await first.query('BEGIN');
      await insertFillRow(first, orderId, 1); // the smaller id, in the older transaction
      await second.query('BEGIN');
      await insertFillRow(second, orderId, 2);
      await second.query('COMMIT');
      // A window in which a reader going by id alone would read the second row and move past
      // the first one's id (it polls every 50 ms); nothing here waits for a condition.
      await sleep(400);
      expect(stream.events).toEqual([]);
      await first.query('COMMIT');
      const expected = await streamRows([orderId]);
      await stream.until((events) => events.length >= 2, 'both fills');
      expect(stream.events.map((event) => event.id)).toEqual(expected.slice(1).map((row) => row.id));
      expect(stream.events.map((event) => event.data.execution.quantity)).toEqual([1, 2]);
      expectIncreasingIds(stream.events);
    } finally {
      stream.close();
      await Promise.all([first.end(), second.end()]);
    }
  });

  it('many accounts (skewed), several streams each, some of one order, reconnecting with Last-Event-IDs of every age during a flow: each connection gets exactly its scope’s events after its id, in order', async () => {
    // Six accounts; of every 17 fills, 8 are the first's, 4 the second's, 2 the third's, 1 each the others'.
    const weights = [8, 4, 2, 1, 1, 1];
    const schedule = weights.flatMap((weight, account) => Array.from({ length: weight }, () => account));
    const accounts = await Promise.all(weights.map(() => newAccount()));
    // Each account has an order per writer (a writer never waits for the other's row locks).
    const orders = await Promise.all(
      accounts.map(async (account) => [await insertOrder(10_000, account.id), await insertOrder(10_000, account.id)]),
    );
    const noise = await newAccount();
    const noiseOrder = await insertOrder(1_000_000, noise.id);
    const startAfter = (await streamRows(orders.flat())).at(-1)!.id;

    // Streams: every account's, and one order's, by header; the three largest accounts' also by
    // ?last_event_id=; the largest's one more order's. And a client asking for another account's order: nothing.
    interface Follower {
      name: string;
      headers: Record<string, string>;
      orderIds: string[];
      orderId: string | null;
      viaQuery: boolean;
    }
    const followers: Follower[] = accounts.flatMap((account, a) => [
      { name: `account ${a}`, headers: account.headers, orderIds: orders[a]!, orderId: null, viaQuery: false },
      { name: `account ${a}, order 0`, headers: account.headers, orderIds: [orders[a]![0]!], orderId: orders[a]![0]!, viaQuery: false },
      ...(a < 3 ? [{ name: `account ${a} (query)`, headers: account.headers, orderIds: orders[a]!, orderId: null, viaQuery: true }] : []),
      ...(a === 0
        ? [
            {
              name: 'account 0, order 1 (query)',
              headers: account.headers,
              orderIds: [orders[0]![1]!],
              orderId: orders[0]![1]!,
              viaQuery: true,
            },
          ]
        : []),
    ]);
    followers.push({
      name: "account 5 asking for account 0's order",
      headers: accounts[5]!.headers,
      orderIds: [],
      orderId: orders[0]![0]!,
      viaQuery: false,
    });

    // The noise account's stream: once it has a burst's last event, this API's poller has read the burst.
    const probe = await openEventStream(eventsUrl(), noise.headers);
    let bursts = 0;
    /** Enough events after `id` that the ring (of RING events) no longer holds its successor: a resume from it reads the database. */
    const pastTheRing = async () => {
      const last = await insertFillRows(db, noiseOrder, 3 * RING, `N${++bursts}`);
      await probe.until((events) => events.some((event) => event.id === last), "the burst's last event");
    };

    const writers = [0, 1].map(() => new pg.Client({ connectionString: testConfig().DATABASE_URL }));
    await Promise.all(writers.map((writer) => writer.connect()));
    let flowing = true;
    // Two writers whose transactions overlap and commit in either order, a few fills each, to the accounts in their shares.
    const flow = Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 60; i++) {
          await writer.query('BEGIN');
          for (let k = 0; k <= i % 3; k++) await insertFill(writer, orders[schedule[(i * 3 + k * 7 + w) % schedule.length]!]![w]!);
          if (i % 10 === 9) await setStatus(writer, orders[(i + w) % accounts.length]![w]!, i % 20 === 9 ? 'partially_filled' : 'placed');
          await sleep(i % 4 === w ? 15 : 0);
          await writer.query('COMMIT');
        }
      }),
    ).finally(() => {
      flowing = false;
    });

    interface Connection {
      resume: string;
      age: 'latest' | 'older' | 'past the ring' | 'final';
      ids: string[];
      problems: string[];
    }
    const open = async (follower: Follower, resume: string) => {
      const query = [follower.orderId ? `order_id=${follower.orderId}` : '', follower.viaQuery ? `last_event_id=${resume}` : '']
        .filter((part) => part !== '')
        .join('&');
      return openEventStream(eventsUrl(query ? `?${query}` : ''), {
        ...follower.headers,
        ...(follower.viaQuery ? {} : { 'Last-Event-ID': resume }),
      });
    };
    // Each connection takes a few events (or stays a moment), then drops; it comes back with its
    // last id, or one three events older, or its last id once the stream has moved past the ring.
    const follow = async (follower: Follower) => {
      const connections: Connection[] = [];
      const ids: string[] = [];
      for (let n = 0; flowing || n < 8; n++) {
        let age: Connection['age'] = 'latest';
        let resume = ids.at(-1) ?? startAfter;
        if (n % 5 === 3) {
          await pastTheRing();
          age = 'past the ring';
        } else if (n % 5 === 1 && ids.length >= 3) {
          resume = ids.at(-3)!;
          age = 'older';
        }
        const stream = await open(follower, resume);
        await stream.until((events) => events.length >= 1 + (n % 7), 'a few events', 300).catch(() => {});
        stream.close();
        await stream.ended;
        connections.push({ resume, age, ids: stream.events.map((event) => event.id), problems: stream.problems });
        for (const event of stream.events) if (ids.length === 0 || BigInt(event.id) > BigInt(ids.at(-1)!)) ids.push(event.id);
      }
      return { follower, connections, ids };
    };
    const followed = await Promise.all(followers.map(follow));
    await flow;
    await Promise.all(writers.map((writer) => writer.end()));
    probe.close();

    // The rest after the flow stopped, on one last connection each.
    for (const run of followed) {
      const expected = await streamRows(run.follower.orderIds);
      const resume = run.ids.at(-1) ?? startAfter;
      const stream = await open(run.follower, resume);
      try {
        const last = expected.at(-1)?.id;
        if (last !== undefined && BigInt(last) > BigInt(resume)) {
          // On a timeout the assertions below say what is missing.
          await stream
            .until((events) => events.some((event) => event.id === last), `${run.follower.name}: every event`, 60_000)
            .catch(() => {});
        }
      } finally {
        stream.close();
        await stream.ended;
      }
      run.connections.push({ resume, age: 'final', ids: stream.events.map((event) => event.id), problems: stream.problems });
      for (const event of stream.events) if (run.ids.length === 0 || BigInt(event.id) > BigInt(run.ids.at(-1)!)) run.ids.push(event.id);
    }

    for (const { follower, connections, ids } of followed) {
      const expected = (await streamRows(follower.orderIds)).filter((row) => BigInt(row.id) > BigInt(startAfter)).map((row) => row.id);
      for (const [n, connection] of connections.entries()) {
        // Exactly the scope's events after the id it came with: a run of them, none skipped, none twice.
        const from = expected.findIndex((id) => BigInt(id) > BigInt(connection.resume));
        const next = from === -1 ? [] : expected.slice(from, from + connection.ids.length);
        expect(connection.ids, `${follower.name}, connection ${n} (${connection.age}) after ${connection.resume}`).toEqual(next);
        expect(connection.problems).toEqual([]);
      }
      expect(ids, follower.name).toEqual(expected);
      expect(connections.filter((connection) => connection.age === 'past the ring').length).toBeGreaterThanOrEqual(1);
    }
    const sizes = followed.filter((run) => run.follower.orderId === null).map((run) => run.ids.length);
    expect(sizes[0]).toBeGreaterThan(3 * sizes.at(-1)!); // skewed
    expect(sizes.every((size) => size >= 5)).toBe(true);
    expect(followed.at(-1)!.ids).toEqual([]);
    // Resumes from older ids were served again from there.
    const older = followed
      .flatMap((run) => run.connections)
      .filter((connection) => connection.age === 'older' && connection.ids.length > 0);
    expect(older.length).toBeGreaterThan(0);
  }, 240_000);

  it('a Last-Event-ID older than the ring is caught up from the database, then the live tail', async () => {
    const orderId = await insertOrder(10_000);
    const resumeAfter = (await streamRows([orderId])).at(-1)!.id;
    // Far more events than the ring's 40, in one transaction.
    await db.query('BEGIN');
    for (let i = 0; i < 150; i++) await insertFill(db, orderId);
    await db.query('COMMIT');
    const older = (await streamRows([orderId])).filter((row) => BigInt(row.id) > BigInt(resumeAfter));
    expect(older.length).toBe(150);

    const stream = await openEventStream(eventsUrl(`?order_id=${orderId}`), { 'Last-Event-ID': resumeAfter });
    try {
      await stream.until((events) => events.length >= 150, 'the caught-up events');
      await setStatus(db, orderId, 'partially_filled'); // then the live tail
      const all = (await streamRows([orderId])).filter((row) => BigInt(row.id) > BigInt(resumeAfter));
      await stream.until((events) => events.length >= all.length, 'the live event');
      expect(stream.events.map((event) => event.id)).toEqual(all.map((row) => row.id));
      expect(stream.events.at(-1)!.data.order.status).toBe('partially_filled');
      expect(stream.problems).toEqual([]);
    } finally {
      stream.close();
    }
  });

  it('sends heartbeat comments', async () => {
    const stream = await openEventStream(eventsUrl(`?order_id=${await insertOrder()}`));
    try {
      await stream.until(() => stream.comments >= 2, 'two heartbeats');
    } finally {
      stream.close();
    }
  });

  it('answers 400 to a bad Last-Event-ID and 422 to a bad order_id or an unknown parameter', async () => {
    for (const bad of ['abc', '-1', '1.5', '']) {
      const response = await request(eventsUrl(), { headers: { 'Last-Event-ID': bad } });
      expect(response.status, bad).toBe(400);
      expect(response.body.message).toMatch(/Last-Event-ID/);
    }
    const query = await request(eventsUrl('?last_event_id=12x'));
    expect(query.status).toBe(400);
    expect(query.body.message).toMatch(/last_event_id/);
    // The header wins when both are given, but a malformed query parameter is refused all the same.
    for (const bad of ['', '12x', '%2012']) {
      const beside = await request(eventsUrl(`?last_event_id=${bad}`), { headers: { 'Last-Event-ID': '0' } });
      expect(beside.status, bad).toBe(400);
      expect(beside.body.message).toMatch(/last_event_id/);
    }

    const badId = await request(eventsUrl('?order_id=not-a-uuid'));
    expect(badId.status).toBe(422);
    expect(badId.body.detail).toEqual([{ loc: ['query', 'order_id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }]);
    const unknown = await request(eventsUrl('?since=1'));
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail[0].loc).toEqual(['query', 'since']);
  });
});

describe('GET /events, bounded', () => {
  it('answers 503 beyond SSE_MAX_CLIENTS, and takes a client again once one left', async () => {
    const small = await startApi({ SSE_MAX_CLIENTS: '2' });
    const open: EventStream[] = [await openEventStream(`${small.url}/events`), await openEventStream(`${small.url}/events`)];
    try {
      const refused = await request(`${small.url}/events`);
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(/at most 2/);
      open.shift()!.close();
      await waitFor(async () => (small.events.clients < 2 ? true : undefined), 30_000, 'the server to notice the client left');
      open.push(await openEventStream(`${small.url}/events`));
    } finally {
      for (const stream of open) stream.close();
    }
  });

  it('cuts a client that does not read once its unsent bytes pass SSE_CLIENT_BUFFER_BYTES', async () => {
    const small = await startApi({ SSE_CLIENT_BUFFER_BYTES: '65536' });
    const orderId = await insertOrder(1_000_000);
    const { port } = new URL(small.url);
    const socket = connect(Number(port), '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(`GET /events?order_id=${orderId} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    await waitFor(async () => (small.events.clients === 1 ? true : undefined), 30_000, 'the stream to open');
    socket.pause(); // never reads: the kernel's buffers fill, then the server's
    try {
      // Each batch is one transaction of many fills (about 1 KB of frame each).
      await waitFor(
        async () => {
          await db.query('BEGIN');
          for (let i = 0; i < 500; i++) await insertFill(db, orderId);
          await db.query('COMMIT');
          return small.events.clients === 0 ? true : undefined;
        },
        120_000,
        'the slow client to be cut',
      );
      socket.resume(); // to read the end of the connection the server cut
      await closed;
    } finally {
      socket.destroy();
    }
  }, 180_000);

  it("the API's close() ends open streams", async () => {
    const own = await startApi();
    const stream = await openEventStream(`${own.url}/events`);
    await own.close();
    expect(await stream.ended).toEqual({ byServer: true });
  });
});
