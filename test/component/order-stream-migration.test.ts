import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventData } from '../../api/event-frames.js';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { generateApiKey } from '../../prisma/api-key-secrets.js';
import { createPrismaClient, type PrismaClient } from '../../prisma/client.js';
import { Prisma } from '../../prisma/generated/client.js';
import { applyMigrations } from '../../prisma/migrate.js';
import { ORDER_COLUMNS, type OrderRecord, toOrder } from '../../prisma/order-row.js';
import { ACCOUNT_ROWS_AFTER_SQL, ORDER_ROWS_AFTER_SQL } from '../../prisma/order-stream.js';
import { createEmptyDatabase, migrationsBefore } from '../support/migrations.js';
import { openEventStream } from '../support/sse.js';
import { apiStarter } from '../support/stack.js';

// Migration …_order_stream_account on a database whose order stream was written before it: the
// rows keep their positions (so their SSE ids), take their order's account, and GET /events
// serves them as it did, resuming exactly after an id issued before the migration.

const STREAM_MIGRATION = '20261202030000_order_stream_account';
const suiteUrl = inject('databaseUrl');
const closers: (() => Promise<void>)[] = [];
const startApi = apiStarter((close) => closers.push(close));
let admin: pg.Client;
let database: string;
let url: string;
let before: string;
let db: pg.Client;
let prisma: PrismaClient;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: suiteUrl });
  await admin.connect();
  ({ name: database, url } = await createEmptyDatabase(admin, suiteUrl, 'stream'));
  // The migrations as they were before this one.
  before = await migrationsBefore(STREAM_MIGRATION);
  db = new pg.Client({ connectionString: url });
  await db.connect();
  prisma = createPrismaClient({ url, poolSize: 2, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await prisma?.$disconnect();
  await db?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await rm(before, { recursive: true, force: true });
});

// ---- writing the stream as the writers of the version before did ---------------------------------

async function newAccount(): Promise<{ id: string; apiKey: string }> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO accounts (name) VALUES ($1) RETURNING id', [
    `stream-${randomBytes(4).toString('hex')}`,
  ]);
  const key = generateApiKey();
  await db.query('INSERT INTO api_keys (key_id, account_id, secret_hash) VALUES ($1, $2, $3)', [key.keyId, rows[0]!.id, key.secretHash]);
  return { id: rows[0]!.id, apiKey: key.apiKey };
}

/** A working limit order (its `placed` row from the trigger); a price with a trailing zero, to see it kept. */
async function insertOrder(accountId: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO orders (type, side, instrument, limit_price, quantity, status, placed_at, account_id)
     VALUES ('limit', 'buy', 'US0378331005', 101.50, 100, 'placed', now(), $1) RETURNING id`,
    [accountId],
  );
  return rows[0]!.id;
}

let execs = 0;

/**
 * A fill as the ingestion of the version before wrote it: the order row read back through
 * node-postgres and sent as JSON (Dates as ISO text, decimals as strings), no account_id column.
 */
async function oldIngestFill(orderId: string, qty: number, px: string, strip: string[] = []): Promise<void> {
  const { rows } = await db.query<Record<string, unknown>>(
    `UPDATE orders SET filled_quantity = filled_quantity + $2, filled_notional = filled_notional + $2 * $3::numeric
     WHERE id = $1 RETURNING *`,
    [orderId, qty, px],
  );
  const state: Record<string, unknown> = { ...rows[0]! };
  for (const field of strip) delete state[field];
  const execution = { exec_id: `M-${++execs}`, exec_type: 'partial_fill', last_qty: qty, last_px: px, cum_qty: state.filled_quantity };
  await db.query(`INSERT INTO order_stream (order_id, kind, state, execution) VALUES ($1, 'fill', $2::jsonb, $3::jsonb)`, [
    orderId,
    JSON.stringify(state),
    JSON.stringify({ ...execution, leaves_qty: 100 - Number(state.filled_quantity), transact_time: '2026-12-02T10:00:00.000Z' }),
  ]);
}

const setStatus = (orderId: string, status: string) =>
  db.query(`UPDATE orders SET status = $2::"OrderStatus" WHERE id = $1`, [orderId, status]);

/** The rows of these orders, in stream order: SSE id, order, and each one's data as the reader before this migration made it. */
/** ORDER_COLUMNS without the columns added after this migration (orders of its version lack them). */
const COLUMNS_BEFORE = Prisma.raw(ORDER_COLUMNS.sql.replace(', o."stop_price"::text AS "stop_price"', ''));

async function servedBefore(orderIds: string[]): Promise<{ id: string; orderId: string; data: string }[]> {
  // The reader of the version before: the state through jsonb_populate_record as an orders row.
  const rows = await prisma.$queryRaw<(OrderRecord & { tx: string; stream_id: string; kind: string; at: Date; execution: unknown })[]>`
    SELECT s."tx"::text AS "tx", s."id"::text AS "stream_id", s."kind", s."at", s."execution", ${COLUMNS_BEFORE}
    FROM "order_stream" s CROSS JOIN LATERAL jsonb_populate_record(NULL::"orders", s."state") o
    WHERE s."order_id" = ANY(${orderIds}::uuid[]) ORDER BY s."tx", s."id"`;
  return rows.map((row) => {
    const position = { tx: BigInt(row.tx), id: BigInt(row.stream_id) };
    const data = eventData({
      position,
      orderId: row.id,
      accountId: row.account_id ?? DEMO_ACCOUNT_ID,
      kind: row.kind,
      at: row.at,
      order: toOrder(row),
      accountPosition: null,
      execution: row.execution,
    });
    return { id: (position.tx * 10n ** 13n + position.id).toString(), orderId: row.id, data };
  });
}

const rowsAfter = <T extends { id: string }>(rows: T[], id: string) => rows.filter((row) => BigInt(row.id) > BigInt(id));

describe(`migration ${STREAM_MIGRATION}`, () => {
  it('keeps every row at its position with its order account, and GET /events serves them as before, resuming after an id issued before it', async () => {
    expect(await applyMigrations(url, before)).not.toContain(STREAM_MIGRATION);
    const other = await newAccount();
    const demoOrder = await insertOrder(DEMO_ACCOUNT_ID);
    const [first, second] = [await insertOrder(other.id), await insertOrder(other.id)];
    // The trigger's rows: to_jsonb writes timestamps with the session's offset.
    await db.query(`SET TIME ZONE 'Asia/Kolkata'`);
    await setStatus(first!, 'partially_filled');
    await db.query(`SET TIME ZONE 'UTC'`);
    await oldIngestFill(first!, 30, '10.2500');
    await oldIngestFill(second!, 5, '99.1000');
    await oldIngestFill(demoOrder, 7, '10.0000');
    // A state without the columns accounts brought: the demo account's, as its order is.
    await oldIngestFill(demoOrder, 1, '10.0000', ['account_id', 'client_order_id']);
    await oldIngestFill(first!, 20, '10.5000');
    const { rows: written } = await db.query<{ id: string; order_id: string }>(
      `SELECT (tx::numeric * 10000000000000 + id)::text AS id, order_id FROM order_stream ORDER BY tx, id`,
    );
    const issued = await servedBefore([first!, second!]);
    const demoIssued = await servedBefore([demoOrder]);
    expect(issued.length).toBe(6);
    expect(demoIssued.length).toBe(3);

    expect((await applyMigrations(url))[0]).toBe(STREAM_MIGRATION);

    // Same rows at the same positions, each with its order's account.
    const { rows: migrated } = await db.query<{ id: string; order_id: string; account_id: string }>(
      `SELECT (tx::numeric * 10000000000000 + id)::text AS id, order_id, account_id FROM order_stream ORDER BY tx, id`,
    );
    expect(migrated.map(({ id, order_id }) => ({ id, order_id }))).toEqual(written);
    for (const row of migrated) expect(row.account_id, row.id).toBe(row.order_id === demoOrder ? DEMO_ACCOUNT_ID : other.id);
    const { rows: column } = await db.query(
      `SELECT is_nullable FROM information_schema.columns WHERE table_name = 'order_stream' AND column_name = 'account_id'`,
    );
    expect(column).toEqual([{ is_nullable: 'NO' }]);

    // After it: the trigger names the account, and a writer of the version before (no
    // account_id) still writes rows, which take their state's.
    await setStatus(second!, 'partially_filled');
    await oldIngestFill(second!, 5, '99.2000');
    const { rows: newer } = await db.query<{ account_id: string; kind: string }>(
      `SELECT account_id, kind FROM order_stream WHERE order_id = $1 ORDER BY tx, id`,
      [second],
    );
    expect(newer.slice(-2)).toEqual([
      { account_id: other.id, kind: 'status' },
      { account_id: other.id, kind: 'fill' },
    ]);

    // A small ring: every id issued before the migration is older than it, read from the database.
    const api = await startApi({ DATABASE_URL: url, SSE_RING_SIZE: '2' });
    const resumeAfter = issued[1]!.id;
    const stream = await openEventStream(`${api.url}/events`, { 'Last-Event-ID': resumeAfter, Authorization: `Bearer ${other.apiKey}` });
    const scoped = await openEventStream(`${api.url}/events?order_id=${first}&last_event_id=${issued[0]!.id}`, {
      Authorization: `Bearer ${other.apiKey}`,
    });
    const demo = await openEventStream(`${api.url}/events`, { 'Last-Event-ID': '0' });
    try {
      const served = await servedBefore([first!, second!]);
      expect(served.slice(0, issued.length)).toEqual(issued); // the old rows read as before
      await stream.until((events) => events.length >= rowsAfter(served, resumeAfter).length, "the account's events after the id");
      // Then live.
      await setStatus(first!, 'filled');
      const all = rowsAfter(await servedBefore([first!, second!]), resumeAfter);
      await stream.until((events) => events.length >= all.length, 'the live event');
      expect(stream.events.map((event) => event.id)).toEqual(all.map((row) => row.id));
      expect(stream.events.map((event) => event.raw)).toEqual(all.map((row) => row.data));
      expect(stream.problems).toEqual([]);

      const firsts = all.filter((row) => row.orderId === first && BigInt(row.id) > BigInt(issued[0]!.id));
      await scoped.until((events) => events.length >= firsts.length, "the order's events");
      expect(scoped.events.map((event) => event.raw)).toEqual(firsts.map((row) => row.data));
      expect(scoped.events.map((event) => event.id)).toEqual(firsts.map((row) => row.id));

      await demo.until((events) => events.length >= demoIssued.length, "the demo account's events");
      expect(demo.events.map((event) => event.id)).toEqual(demoIssued.map((row) => row.id));
      expect(demo.events.map((event) => event.raw)).toEqual(demoIssued.map((row) => row.data));
      expect(demo.events.at(-1)!.data.order).toMatchObject({ id: demoOrder, filled_quantity: 8, limit_price: 101.5 });
      expect(demo.events.at(-1)!.raw).toContain('"limit_price":101.50,');
    } finally {
      for (const open of [stream, scoped, demo]) open.close();
    }
  });

  it("reads a catch-up's rows through an index: none of another account's or order's", async () => {
    // Many rows of one order, a few of another order of its account and of another account.
    const [busy, quiet] = [await newAccount(), await newAccount()];
    const [busyOrder, busyOther] = [await insertOrder(busy.id), await insertOrder(busy.id)];
    const quietOrders = [await insertOrder(quiet.id), await insertOrder(quiet.id)];
    await db.query(
      `INSERT INTO order_stream (order_id, account_id, kind, state)
       SELECT o.id, o.account_id, 'status', to_jsonb(o) FROM orders o, generate_series(1, 20000) WHERE o.id = $1`,
      [busyOrder],
    );
    await setStatus(quietOrders[0]!, 'cancelled');
    await setStatus(busyOther!, 'cancelled');
    await db.query('ANALYZE order_stream');

    const plan = async (sql: string, values: unknown[]) => {
      const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, values);
      return nodesOf(rows[0]!['QUERY PLAN'][0].Plan);
    };
    const account = await plan(ACCOUNT_ROWS_AFTER_SQL, ['0', '0', quiet.id, 1000]);
    const accountScan = account.find((node) => node['Relation Name'] === 'order_stream')!;
    expect(accountScan['Index Name']).toBe('order_stream_account_id_tx_id_idx');
    expect(accountScan['Actual Rows']).toBe(3);
    expect(account.reduce((sum, node) => sum + (node['Rows Removed by Filter'] ?? 0), 0)).toBe(0);

    const order = await plan(ORDER_ROWS_AFTER_SQL, ['0', '0', busy.id, 1000, busyOther]);
    const orderScan = order.find((node) => node['Relation Name'] === 'order_stream')!;
    expect(orderScan['Index Name']).toBe('order_stream_order_id_tx_id_idx');
    expect(orderScan['Actual Rows']).toBe(2);
    expect(order.reduce((sum, node) => sum + (node['Rows Removed by Filter'] ?? 0), 0)).toBe(0);
  });
});

interface PlanNode {
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}
