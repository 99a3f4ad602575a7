import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
