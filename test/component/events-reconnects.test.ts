import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiServer } from '../../api/server.js';
import { generateApiKey } from '../../prisma/api-key-secrets.js';
import { testConfig } from '../support/config.js';
import { uniqueInstrument } from '../support/orders.js';
import { type EventStream, openEventStream } from '../support/sse.js';
import { apiStarter } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// GET /events' many-reconnects test at the service's shape (issue #23), scaled to a shared CI
// machine: two API processes (each its own poller and ring), many accounts with a skewed flow,
// 2–3 streams per account, one in ten following one order, all reconnecting, to either API, with
// Last-Event-IDs of every age (the last one, a few events back, ten rounds of the flow old, the
// very first: the older ones beyond the ring, from the database) while two writers whose
// transactions overlap and commit out of id order write fills and status changes. Every
// connection must get exactly its scope's events after the id it came with, in order, and every
// stream all of them. Events are made with SQL as their writers make them: one writer's fills as
// the ingestion writes them now (an executions row, a fill row of columns naming it), the
// other's as it wrote them before (a narrow JSON state and the report), status rows by the orders
// trigger. Other files' events flow through the same pollers: every assertion is about this
// file's accounts.

const closers: (() => Promise<void>)[] = [];
const startApi = apiStarter((close) => closers.push(close));
/** A small ring: resumes from older ids reach back past it, to the database. */
const RING = 100;
const ACCOUNTS = 30;
const ROUNDS = 45;
let apis: ApiServer[];
let db: pg.Client;

beforeAll(async () => {
  apis = await Promise.all([0, 1].map(() => startApi({ SSE_RING_SIZE: String(RING) })));
  db = new pg.Client({ connectionString: testConfig().DATABASE_URL });
  await db.connect();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await db?.end();
});

interface Account {
  id: string;
  headers: Record<string, string>;
  /** One per writer: a writer never waits for the other's row locks. */
  orders: [string, string];
}

/** Accounts, each with a key and two placed orders. */
async function newAccounts(count: number): Promise<Account[]> {
  const names = Array.from({ length: count }, () => `reconnects-${randomBytes(6).toString('hex')}`);
  const { rows } = await db.query<{ id: string; name: string }>(
    'INSERT INTO "accounts" ("name") SELECT unnest($1::text[]) RETURNING "id", "name"',
    [names],
  );
  const ids = names.map((name) => rows.find((row) => row.name === name)!.id);
  const keys = ids.map(() => generateApiKey());
  await db.query(
    `INSERT INTO "api_keys" ("key_id", "account_id", "secret_hash") SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[])`,
    [keys.map((key) => key.keyId), ids, keys.map((key) => key.secretHash)],
  );
  const { rows: orders } = await db.query<{ id: string; account_id: string }>(
    `INSERT INTO "orders" ("type", "side", "instrument", "quantity", "status", "placed_at", "account_id")
     SELECT 'market', 'buy', $2, 1000000, 'placed', now(), a FROM unnest($1::uuid[]) a, generate_series(1, 2)
     RETURNING "id", "account_id"`,
    [ids, uniqueInstrument('R')],
  );
  return ids.map((id, k) => {
    const own = orders.filter((order) => order.account_id === id).map((order) => order.id);
    return { id, headers: { Authorization: `Bearer ${keys[k]!.apiKey}` }, orders: [own[0]!, own[1]!] };
  });
}

/**
 * Fills of the given orders in one statement, in the order given: as the ingestion writes them
 * now (`columns`: an executions row and a fill row naming it, migration …_order_stream_fill_columns)
 * or as it wrote them before (`state`: a narrow JSON state and the report in the row).
 */
async function insertFills(client: pg.ClientBase, orderIds: string[], format: 'columns' | 'state'): Promise<void> {
  const input = `SELECT f."n", 'RC-' || gen_random_uuid() AS "exec_id", o.* FROM unnest($1::uuid[]) WITH ORDINALITY AS f("order_id", "n")
    JOIN "orders" o ON o."id" = f."order_id"`;
  if (format === 'columns') {
    await client.query(
      `WITH "input" AS MATERIALIZED (SELECT nextval('executions_id_seq') AS "execution_id", i.* FROM (${input}) i),
       "written" AS (
         INSERT INTO "executions" ("id", "venue", "exec_id", "order_id", "seq", "exec_type", "order_status", "last_qty", "last_px",
           "cum_qty", "leaves_qty", "venue_time")
         SELECT "execution_id", 'TEST', "exec_id", "id", "execution_id", 'partial_fill', 'partially_filled', 1, 10.25, 1, 999999, now() FROM "input")
       INSERT INTO "order_stream" ("order_id", "account_id", "kind", "execution_id", "status", "filled_quantity", "filled_notional",
         "placed_at", "filled_at", "cancelled_at", "expired_at", "rejected_at", "rejected_reason", "expires_at")
       SELECT "id", "account_id", 'fill', "execution_id", "status", "filled_quantity", "filled_notional", "placed_at", "filled_at",
         "cancelled_at", "expired_at", "rejected_at", "rejected_reason", "expires_at"
       FROM "input" ORDER BY "n"`,
      [orderIds],
    );
    return;
  }
  await client.query(
    `INSERT INTO "order_stream" ("order_id", "account_id", "kind", "state", "execution")
     SELECT o."id", o."account_id", 'fill', jsonb_build_object('status', o."status", 'filled_quantity', o."filled_quantity",
       'filled_notional', o."filled_notional"::text, 'placed_at', o."placed_at", 'filled_at', o."filled_at", 'cancelled_at', o."cancelled_at",
       'expired_at', o."expired_at", 'rejected_at', o."rejected_at", 'rejected_reason', o."rejected_reason", 'expires_at', o."expires_at"),
       jsonb_build_object('exec_id', o."exec_id", 'exec_type', 'partial_fill', 'order_id', o."id", 'last_qty', 1,
         'last_px', '10.2500', 'cum_qty', 1, 'leaves_qty', 999999, 'transact_time', '2026-12-02T10:00:00.000Z')
     FROM (${input}) o ORDER BY o."n"`,
    [orderIds],
  );
}

/** The stream's rows of these orders after `after`, in stream order, as SSE ids. */
async function streamIds(orderIds: string[], after = '0'): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT ("tx"::numeric * 10000000000000 + "id")::text AS "id" FROM "order_stream"
     WHERE "order_id" = ANY($1::uuid[]) AND ("tx"::numeric * 10000000000000 + "id") > $2::numeric ORDER BY "tx", "id"`,
    [orderIds, after],
  );
  return rows.map((row) => row.id);
}

interface Follower {
  name: string;
  headers: Record<string, string>;
  /** The orders whose events it sees; the order it asks for with ?order_id=, if any. */
  orderIds: string[];
  orderId: string | null;
  /** Resumes with ?last_event_id= rather than the header. */
  viaQuery: boolean;
}

interface Connection {
  resume: string;
  api: number;
  kind: 'latest' | 'a few back' | 'ten rounds old' | 'the first';
  /** Committed rows of this file after the resume id that both pollers had read when it opened (at least): beyond the ring past RING. */
  behind: number;
  ids: string[];
  problems: string[];
}

describe('GET /events, many streams reconnecting', () => {
  it('gives every connection of every stream exactly its scope’s events after its Last-Event-ID, in order, on either API, whatever the id’s age', async () => {
    // Account k has ⌈ACCOUNTS / (k + 1)⌉ shares of the flow: a few carry most of it.
    const accounts = await newAccounts(ACCOUNTS + 1);
    const pulse = accounts.pop()!;
    const schedule = accounts.flatMap((_, k) => Array.from({ length: Math.ceil(ACCOUNTS / (k + 1)) }, () => k));
    const startAfter = (await streamIds([...accounts, pulse].flatMap((account) => account.orders))).at(-1)!;

    // 2 or 3 streams per account, 1 in 10 of one order, 1 in 7 resuming by ?last_event_id=; and one asking for another account's order.
    const followers: Follower[] = [];
    for (const [k, account] of accounts.entries()) {
      for (let s = 0; s < (k < ACCOUNTS / 2 ? 3 : 2); s++) {
        const i = followers.length;
        const orderId = i % 10 === 9 ? account.orders[i % 2]! : null;
        const viaQuery = i % 7 === 3;
        followers.push({
          name: `account ${k} stream ${s}${orderId ? ' (one order)' : ''}`,
          headers: account.headers,
          orderIds: orderId ? [orderId] : account.orders,
          orderId,
          viaQuery,
        });
      }
    }
    followers.push({
      name: "account 7 asking for account 0's order",
      headers: accounts[7]!.headers,
      orderIds: [],
      orderId: accounts[0]!.orders[0],
      viaQuery: false,
    });

    // The pulse account's one stream per API: once both have a round's pulse, both pollers have read every earlier round.
    const observers = await Promise.all(
      apis.map((api) => openEventStream(`${api.url}/events`, { ...pulse.headers, 'Last-Event-ID': startAfter })),
    );
    const written: number[] = []; // rows committed before each round
    let committed = 0;
    let round = 0;
    let flowing = true;
    const readRound = () => Math.min(...observers.map((observer) => observer.events.length));

    const writers = [0, 1].map(() => new pg.Client({ connectionString: testConfig().DATABASE_URL }));
    await Promise.all(writers.map((writer) => writer.connect()));
    const [a, b] = writers as [pg.Client, pg.Client];
    // Each round: A opens first (the smaller xid), B writes and commits, A writes more and commits last, the pulse in it.
    const flow = (async () => {
      const fills = (w: number, n: number) =>
        Array.from({ length: n }, (_, k) => accounts[schedule[(round * 31 + k * 7 + w) % schedule.length]!]!.orders[w]!);
      for (; round < ROUNDS; round++) {
        written.push(committed);
        await a.query('BEGIN');
        await insertFills(a, fills(0, 6), 'columns');
        await b.query('BEGIN');
        await insertFills(b, fills(1, 8), 'state');
        if (round % 10 === 5)
          await b.query(`UPDATE "orders" SET "status" = 'partially_filled' WHERE "id" = $1`, [accounts[round % ACCOUNTS]!.orders[1]]);
        await b.query('COMMIT');
        await insertFills(a, [...fills(0, 4), pulse.orders[0]], 'columns');
        await a.query('COMMIT');
        committed += 19; // the status rows left out: a lower bound
        const next = round + 1;
        await waitFor(async () => (readRound() >= next ? true : undefined), 30_000, `both APIs to read round ${next}`);
      }
    })().finally(() => {
      flowing = false;
    });

    const open = (follower: Follower, resume: string, api: number): Promise<EventStream> => {
      const query = [follower.orderId ? `order_id=${follower.orderId}` : '', follower.viaQuery ? `last_event_id=${resume}` : '']
        .filter(Boolean)
        .join('&');
      return openEventStream(`${apis[api]!.url}/events${query ? `?${query}` : ''}`, {
        ...follower.headers,
        ...(follower.viaQuery ? {} : { 'Last-Event-ID': resume }),
      });
    };
    const follow = async (follower: Follower, f: number) => {
      const connections: Connection[] = [];
      // What it received, in order, each id with the round its connection had read when it came.
      const received: { id: string; round: number; committed: number }[] = [];
      for (let n = 0; flowing || n < 4; n++) {
        let kind: Connection['kind'] = 'latest';
        let mark = received.at(-1);
        if (n % 4 === 1 && received.length >= 3) [kind, mark] = ['a few back', received.at(-3)];
        if (n % 4 === 2) [kind, mark] = ['ten rounds old', received.findLast((entry) => entry.round <= round - 10) ?? received[0]];
        if (n % 4 === 3 || mark === undefined) [kind, mark] = ['the first', undefined];
        const resume = mark?.id ?? startAfter;
        const api = (f + n) % 2;
        const behind = (written[readRound()] ?? committed) - (mark?.committed ?? 0);
        const stream = await open(follower, resume, api);
        const openedAt = round;
        // A few events, or a few rounds if its scope is quiet; then it drops.
        await waitFor(
          async () => (stream.events.length >= 1 + (n % 5) || round >= openedAt + 3 || !flowing ? true : undefined),
          30_000,
          'a few events',
        );
        stream.close();
        await stream.ended;
        const ids = stream.events.map((event) => event.id);
        connections.push({ resume, api, kind, behind, ids, problems: stream.problems });
        for (const id of ids) if (BigInt(id) > BigInt(received.at(-1)?.id ?? startAfter)) received.push({ id, round, committed });
      }
      return { follower, connections, last: received.at(-1)?.id ?? startAfter };
    };
    const followed = await Promise.all(followers.map(follow));
    await flow;
    await Promise.all(writers.map((writer) => writer.end()));
    for (const observer of observers) observer.close();

    for (const [f, run] of followed.entries()) {
      const expected = await streamIds(run.follower.orderIds, startAfter);
      // The rest, on one last connection from its last id.
      const stream = await open(run.follower, run.last, f % 2);
      const last = expected.at(-1);
      if (last !== undefined && BigInt(last) > BigInt(run.last)) {
        // On a timeout the assertions below say what is missing.
        await stream.until((events) => events.some((event) => event.id === last), `${run.follower.name}: every event`).catch(() => {});
      }
      stream.close();
      await stream.ended;
      run.connections.push({
        resume: run.last,
        api: f % 2,
        kind: 'latest',
        behind: 0,
        ids: stream.events.map((event) => event.id),
        problems: stream.problems,
      });

      const seen = new Set<string>();
      for (const [n, connection] of run.connections.entries()) {
        // Exactly the scope's events after the id it came with: a run of them, none skipped, none twice, nothing else.
        const from = expected.findIndex((id) => BigInt(id) > BigInt(connection.resume));
        const next = from === -1 ? [] : expected.slice(from, from + connection.ids.length);
        expect(
          connection.ids,
          `${run.follower.name}, connection ${n} (${connection.kind}, API ${connection.api}) after ${connection.resume}`,
        ).toEqual(next);
        expect(connection.problems).toEqual([]);
        for (const id of connection.ids) seen.add(id);
      }
      expect(
        [...seen].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)),
        `${run.follower.name}: all of its events`,
      ).toEqual(expected);
    }

    const all = followed.flatMap((run) => run.connections);
    expect(followed.at(-1)!.connections.every((connection) => connection.ids.length === 0)).toBe(true);
    // The shape held: a skewed flow, resumes of every kind on both APIs, many from beyond the ring.
    const sizes = followed.filter((run) => run.follower.orderId === null).map((run) => new Set(run.connections.flatMap((c) => c.ids)).size);
    expect(sizes[0]).toBeGreaterThan(5 * sizes.at(-1)!);
    expect(all.filter((connection) => connection.behind > RING && connection.ids.length > 0).length).toBeGreaterThan(followers.length);
    for (const kind of ['a few back', 'ten rounds old', 'the first'] as const) {
      expect(all.filter((connection) => connection.kind === kind && connection.ids.length > 0).length, kind).toBeGreaterThan(
        followers.length / 2,
      );
    }
  }, 120_000);
});
