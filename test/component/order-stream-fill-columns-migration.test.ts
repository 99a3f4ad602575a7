import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventData, eventIdOf } from '../../api/event-frames.js';
import type { ExecutionReport } from '../../exchange/protocol.js';
import { writeBatch } from '../../ingest/batch-writer.js';
import { applyMigrations } from '../../prisma/migrate.js';
import { OrderStreamQuery, STREAM_START, type StreamPosition } from '../../prisma/order-stream.js';
import { createEmptyDatabase, migrationsBefore } from '../support/migrations.js';

// Migration …_order_stream_fill_columns on a database whose fill rows were written before it, as
// JSON (the narrow state and the report): they keep their positions and read as they did, and a
// position issued before the migration resumes exactly at the first row written after it, which
// the ingestion writes as plain columns naming its executions row.

const MIGRATION = '20261207000000_order_stream_fill_columns';
const suiteUrl = inject('databaseUrl');
let admin: pg.Client;
let database: string;
let url: string;
let before: string;
let pool: pg.Pool;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: suiteUrl });
  await admin.connect();
  ({ name: database, url } = await createEmptyDatabase(admin, suiteUrl, 'fillcols'));
  before = await migrationsBefore(MIGRATION);
  pool = new pg.Pool({ connectionString: url, max: 2 });
  // pool.end() resolves before its connections have closed, and the DROP … WITH (FORCE) of
  // afterAll ends what is left of them: that end must not reach a client with no listener.
  pool.on('connect', (client) => client.on('error', () => {}));
  // A client still idle in the pool when that end comes passes it on to the pool, which throws
  // an 'error' with no listener: an uncaught exception that failed a CI run with every test passed.
  pool.on('error', () => {});
});

afterAll(async () => {
  await pool?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await rm(before, { recursive: true, force: true });
});

const report = (orderId: string, seq: number, lastQty: number, lastPx: string, cum: number): ExecutionReport => ({
  type: 'execution_report',
  seq,
  poss_dup: false,
  venue: 'MIG',
  exec_id: `MIG-${seq}`,
  order_id: orderId,
  exec_type: cum === 10 ? 'fill' : 'partial_fill',
  order_status: cum === 10 ? 'filled' : 'partially_filled',
  side: 'buy',
  last_qty: lastQty,
  last_px: lastPx,
  cum_qty: cum,
  leaves_qty: 10 - cum,
  avg_px: null,
  transact_time: `2026-12-07T12:00:0${seq}.${100 + seq}Z`,
  ref_exec_id: null,
  text: null,
});

describe('migration …_order_stream_fill_columns', () => {
  it('keeps the JSON fill rows written before it where they were, and resumes after them into the rows written after it', async () => {
    expect(await applyMigrations(url, before)).not.toContain(MIGRATION);
    const { rows: accounts } = await pool.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ($1) RETURNING id`, [
      `mig-${randomBytes(4).toString('hex')}`,
    ]);
    const accountId = accounts[0]!.id;
    const { rows: orders } = await pool.query<{ id: string }>(
      `INSERT INTO orders (type, side, instrument, quantity, status, placed_at, account_id)
       VALUES ('market', 'buy', 'MIGR', 10, 'placed', '2026-12-07T11:59:59.000Z', $1) RETURNING id`,
      [accountId],
    );
    const orderId = orders[0]!.id;
    await pool.query('INSERT INTO venue_sessions (session, next_seq, epoch) VALUES ($1, 1, 1)', ['mig']);
    // The first fill as the ingestion of the version before wrote it: its execution, the order's
    // update (the trigger's status row), a fill row with a narrow JSON state and the report.
    const first = report(orderId, 1, 4, '10.25', 4);
    await pool.query(
      `INSERT INTO executions (venue, exec_id, order_id, seq, exec_type, order_status, last_qty, last_px, cum_qty, leaves_qty, venue_time)
       VALUES ('MIG', 'MIG-1', $1, 1, 'partial_fill', 'partially_filled', 4, 10.25, 4, 6, $2)`,
      [orderId, first.transact_time],
    );
    await pool.query(
      `INSERT INTO order_stream (order_id, account_id, kind, state, execution) VALUES ($1, $2, 'fill', $3::jsonb, $4::jsonb)`,
      [
        orderId,
        accountId,
        JSON.stringify({
          status: 'partially_filled',
          filled_quantity: 4,
          filled_notional: '41.0000',
          placed_at: '2026-12-07T11:59:59.000Z',
          filled_at: null,
          cancelled_at: null,
          expired_at: null,
          rejected_at: null,
          rejected_reason: null,
          expires_at: null,
        }),
        JSON.stringify((({ poss_dup: _, ...rest }) => rest)(first)),
      ],
    );
    await pool.query(`UPDATE orders SET status = 'partially_filled', filled_quantity = 4, filled_notional = 41 WHERE id = $1`, [orderId]);
    await pool.query('UPDATE venue_sessions SET next_seq = 2 WHERE session = $1', ['mig']);
    const { rows: old } = await pool.query<{ tx: string; id: string }>('SELECT tx::text, id::text FROM order_stream ORDER BY tx, id');
    expect(old).toHaveLength(3);

    // This migration first; later ones (the writer below needs them) after it.
    expect((await applyMigrations(url))[0]).toBe(MIGRATION);
    const items = [report(orderId, 2, 6, '10.5', 10)].map((r) => ({
      seq: r.seq,
      report: r,
      reject: null,
      raw: '',
      readAt: 0,
      repair: false,
    }));
    expect((await writeBatch(pool, { name: 'mig', epoch: 1 }, items, 3)).applied).toBe(1);

    const query = new OrderStreamQuery(pool);
    const scope = { accountId, orderId: null };
    const all = await query.afterInScope(scope, STREAM_START, 100);
    expect(all.map((row) => [row.position.tx.toString(), row.position.id.toString()]).slice(0, 3)).toEqual(old.map((r) => [r.tx, r.id]));
    expect(all.map((row) => [row.kind, row.order.status, row.order.filledQuantity])).toEqual([
      ['status', 'placed', 0],
      ['fill', 'partially_filled', 4],
      ['status', 'partially_filled', 4],
      ['fill', 'filled', 10],
      ['status', 'filled', 10],
    ]);
    const data = all.map(
      (row) => JSON.parse(eventData(row)) as { execution: Record<string, unknown> | null; order: Record<string, unknown> },
    );
    // The row from before shows its report as stored; the row from after, its executions row's (price at its scale).
    expect(data[1]!.execution).toEqual({
      exec_id: 'MIG-1',
      exec_type: 'partial_fill',
      quantity: 4,
      price: 10.25,
      cum_quantity: 4,
      leaves_quantity: 6,
      venue_time: first.transact_time,
    });
    expect(eventData(all[3]!)).toContain('"price":10.5000');
    expect(data[3]!.execution).toMatchObject({ exec_id: 'MIG-2', exec_type: 'fill', quantity: 6, cum_quantity: 10, leaves_quantity: 0 });
    expect(data[3]!.execution!.venue_time).toBe(items[0]!.report.transact_time);
    expect(data[3]!.order).toMatchObject({ status: 'filled', filled_quantity: 10, average_fill_price: 10.4 });

    // A client that had the last row from before (its SSE id) resumes with exactly the rows after it.
    const lastOld: StreamPosition = all[2]!.position;
    expect(eventIdOf(lastOld)).toBe(String(BigInt(old[2]!.tx) * 10n ** 13n + BigInt(old[2]!.id)));
    const resumed = await query.afterInScope(scope, lastOld, 100);
    expect(resumed.map((row) => row.position)).toEqual(all.slice(3).map((row) => row.position));
  });
});
