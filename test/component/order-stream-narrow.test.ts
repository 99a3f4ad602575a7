import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventData } from '../../api/event-frames.js';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import type { ExecutionReport } from '../../exchange/protocol.js';
import type { IngestItem } from '../../ingest/batch-plan.js';
import { writeBatch } from '../../ingest/batch-writer.js';
import { OrderStreamQuery, STREAM_START, type StreamRow } from '../../prisma/order-stream.js';
import { testConfig } from '../support/config.js';
import { uniqueInstrument } from '../support/orders.js';
import { waitFor } from '../support/wait.js';

// Fill rows of order_stream are narrow (issue #23): the ingestion writes only the fields a fill
// can change, as plain columns, and names the fill's executions row; the reader takes the order's
// fixed fields from its orders row and the report from executions. Every event must read as it
// did when a fill row carried the whole orders row and the report as JSON: each row written by
// the real ingest path is compared, event data byte for byte, with a whole-state twin (what the
// ingestion wrote before: the orders row with the fold's fields over it, and the report).

let pool: pg.Pool;
const session = { name: `narrow-${randomBytes(4).toString('hex')}`, epoch: 1 };
let seq = 0;
const tag = randomBytes(4).toString('hex');

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: testConfig().DATABASE_URL, max: 3 });
  await pool.query('INSERT INTO venue_sessions (session, next_seq, epoch) VALUES ($1, 1, $2)', [session.name, session.epoch]);
});

afterAll(async () => {
  await pool?.query('DELETE FROM venue_sessions WHERE session = $1', [session.name]);
  await pool?.end();
});

interface OrderFields {
  type: 'market' | 'limit';
  side: 'buy' | 'sell';
  limit_price: string | null;
  quantity: number;
  time_in_force: 'day' | 'gtc';
  created_at: string;
  placed_at: string;
  expires_at: string | null;
  client_order_id: string | null;
  rejected_reason?: string | null;
  status?: string;
}

async function insertOrder(fields: OrderFields): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO orders (type, side, instrument, limit_price, quantity, time_in_force, status, created_at, placed_at, expires_at,
       client_order_id, rejected_reason, account_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7::"OrderStatus", $8, $9, $10, $11, $12, $13) RETURNING id`,
    [
      fields.type,
      fields.side,
      uniqueInstrument('N'),
      fields.limit_price,
      fields.quantity,
      fields.time_in_force,
      fields.status ?? 'placed',
      fields.created_at,
      fields.placed_at,
      fields.expires_at,
      fields.client_order_id,
      fields.rejected_reason ?? null,
      DEMO_ACCOUNT_ID,
    ],
  );
  return rows[0]!.id;
}

function report(orderId: string, fields: Partial<ExecutionReport>): IngestItem {
  seq += 1;
  const r: ExecutionReport = {
    type: 'execution_report',
    seq,
    poss_dup: false,
    venue: 'SIMX',
    exec_id: `N-${tag}-${seq}`,
    order_id: orderId,
    exec_type: 'partial_fill',
    order_status: 'partially_filled',
    side: 'buy',
    last_qty: 0,
    last_px: null,
    cum_qty: 0,
    leaves_qty: 0,
    avg_px: null,
    transact_time: `2026-12-07T10:00:${String(seq % 60).padStart(2, '0')}.${String(100 + seq).slice(-3)}Z`,
    ref_exec_id: null,
    text: null,
    ...fields,
  };
  return { seq: r.seq, report: r, reject: null, raw: JSON.stringify(r), readAt: 0, repair: false };
}

/** A fill row's own columns (migration …_order_stream_fill_columns): what a fill can change, and its execution. */
const FILL_FIELDS = [
  'status',
  'filled_quantity',
  'filled_notional',
  'placed_at',
  'filled_at',
  'cancelled_at',
  'expired_at',
  'rejected_at',
  'rejected_reason',
  'expires_at',
] as const;

interface StoredFill {
  id: string;
  order_id: string;
  account_id: string;
  at: Date;
  state: unknown;
  execution: unknown;
  /** The exec id of the executions row the fill row names. */
  exec_id: string | null;
  fields: Record<(typeof FILL_FIELDS)[number], unknown>;
}

async function fillRows(orderIds: string[]): Promise<StoredFill[]> {
  const { rows } = await pool.query<Omit<StoredFill, 'fields'> & Record<string, unknown>>(
    `SELECT s.id::text, s.order_id, s.account_id, s.at, s.state, s.execution, e.exec_id,
            ${FILL_FIELDS.map((field) => `s.${field}`).join(', ')}
       FROM order_stream s LEFT JOIN executions e ON e.id = s.execution_id
      WHERE s.order_id = ANY($1::uuid[]) AND s.kind = 'fill' ORDER BY s.tx, s.id`,
    [orderIds],
  );
  return rows.map((row) => ({ ...row, fields: Object.fromEntries(FILL_FIELDS.map((field) => [field, row[field]])) }) as StoredFill);
}

/**
 * What the ingestion wrote for a fill before #23: the orders row (as node-postgres reads it) with
 * the fold's fields over it, and the report, its price at the scale executions.last_px keeps
 * (numeric(20,4), what a fill event's price shows since the row names its executions row).
 */
async function insertWholeTwin(fill: StoredFill, reports: ReadonlyMap<string, ExecutionReport>): Promise<void> {
  const { rows } = await pool.query('SELECT * FROM orders WHERE id = $1', [fill.order_id]);
  const whole = JSON.stringify({ ...rows[0], ...fill.fields });
  const { poss_dup: _, ...report } = reports.get(fill.exec_id ?? '')!;
  const execution = { ...report, last_px: report.last_px === null ? null : Number(report.last_px).toFixed(4) };
  // The position after the fill (migration …_positions) is no field of the order: the twin carries the narrow row's.
  await pool.query(
    `INSERT INTO order_stream (order_id, account_id, kind, state, execution, at,
                               position_quantity, position_average_entry_price, position_realized_pnl, position_updated_at)
     SELECT $1, $2, 'fill', $3::jsonb, $4::jsonb, $5,
            n.position_quantity, n.position_average_entry_price, n.position_realized_pnl, n.position_updated_at
       FROM order_stream n WHERE n.id = $6::bigint`,
    [fill.order_id, fill.account_id, whole, JSON.stringify(execution), fill.at, fill.id],
  );
}

/** The stream's rows of an order, as GET /events reads them (once all its `count` rows are finished). */
async function streamOf(orderId: string, count: number): Promise<StreamRow[]> {
  const query = new OrderStreamQuery(pool);
  return waitFor(async () => {
    const rows = await query.afterInScope({ accountId: DEMO_ACCOUNT_ID, orderId }, STREAM_START, 1000);
    return rows.length === count ? rows : undefined;
  });
}

/** Every narrow fill row of the order, each with its whole-state twin: their events' data, pairwise. */
async function narrowAndWhole(
  orderId: string,
  reports: ReadonlyMap<string, ExecutionReport>,
): Promise<{ narrow: StreamRow[]; whole: StreamRow[] }> {
  const fills = await fillRows([orderId]);
  for (const fill of fills) await insertWholeTwin(fill, reports);
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM order_stream WHERE order_id = $1', [orderId]);
  const rowsOfOrder = (await streamOf(orderId, rows[0]!.n)).filter((row) => row.kind === 'fill');
  const ids = new Set(fills.map((fill) => fill.id));
  return {
    narrow: rowsOfOrder.filter((row) => ids.has(row.position.id.toString())),
    whole: rowsOfOrder.filter((row) => !ids.has(row.position.id.toString())),
  };
}

describe('narrow fill rows of order_stream', () => {
  it('the ingestion writes the changeable fields as columns and names the execution, and every fill event reads as its whole-state row does', async () => {
    const limit = await insertOrder({
      type: 'limit',
      side: 'sell',
      limit_price: '187.25',
      quantity: 10,
      time_in_force: 'gtc',
      created_at: '2026-12-07T09:59:58.123Z',
      placed_at: '2026-12-07T09:59:59.987Z',
      expires_at: null,
      client_order_id: `narrow-${tag}`,
    });
    const market = await insertOrder({
      type: 'market',
      side: 'buy',
      limit_price: null,
      quantity: 5,
      time_in_force: 'day',
      created_at: '2026-12-07T09:59:57.001Z',
      placed_at: '2026-12-07T09:59:57.999Z',
      expires_at: '2026-12-07T21:00:00.456Z',
      client_order_id: null,
    });
    // Its workflow's markPlaced sets expires_at after these fills were ingested.
    const late = await insertOrder({
      type: 'limit',
      side: 'buy',
      limit_price: '0.01',
      quantity: 4,
      time_in_force: 'day',
      created_at: '2026-12-07T09:59:56.010Z',
      placed_at: '2026-12-07T09:59:56.020Z',
      expires_at: null,
      client_order_id: `late-${tag}`,
    });

    const first = report(limit, { last_qty: 3, last_px: '187.25', cum_qty: 3, leaves_qty: 7 });
    const items = [
      first,
      report(market, { last_qty: 2, last_px: '10.1', cum_qty: 2, leaves_qty: 3 }),
      report(late, { last_qty: 1, last_px: '0.01', cum_qty: 1, leaves_qty: 3 }),
      report(limit, { exec_type: 'trade_bust', ref_exec_id: first.report!.exec_id, cum_qty: 0, leaves_qty: 10 }),
      report(limit, { last_qty: 10, last_px: '187.3', cum_qty: 10, leaves_qty: 0, exec_type: 'fill', order_status: 'filled' }),
      report(market, { last_qty: 3, last_px: '10.25', cum_qty: 5, leaves_qty: 0, exec_type: 'fill', order_status: 'filled' }),
    ];
    const result = await writeBatch(pool, session, items, seq + 1);
    expect(result.applied).toBe(items.length);
    await pool.query(`UPDATE orders SET expires_at = '2026-12-07T21:00:00.789Z' WHERE id = $1`, [late]);

    const fills = await fillRows([limit, market, late]);
    expect(fills).toHaveLength(items.length);
    const reports = new Map(items.map((item) => [item.report!.exec_id, item.report!]));
    for (const fill of fills) {
      // No JSON at all: the fields a fill changes in columns, the report by its executions row.
      expect([fill.state, fill.execution]).toEqual([null, null]);
      expect(reports.has(fill.exec_id ?? '')).toBe(true);
    }
    expect(new Set(fills.map((fill) => fill.exec_id)).size).toBe(items.length);

    const read = new Map<string, StreamRow[]>();
    for (const orderId of [limit, market, late]) {
      const { narrow, whole } = await narrowAndWhole(orderId, reports);
      expect(narrow.length).toBeGreaterThan(0);
      expect(narrow.map(eventData)).toEqual(whole.map(eventData));
      expect(narrow.map((row) => row.order)).toEqual(whole.map((row) => row.order));
      read.set(orderId, narrow);
    }
    // The late order's fill shows expires_at as it stood at the fill (none yet), not the orders row's now.
    expect(read.get(late)!.map((row) => [row.order.expiresAt, row.order.limitPrice, row.order.clientOrderId])).toEqual([
      [null, '0.01', `late-${tag}`],
    ]);
    expect(
      read
        .get(market)!
        .map((row) => [
          row.order.limitPrice,
          row.order.clientOrderId,
          row.order.createdAt.toISOString(),
          row.order.expiresAt?.toISOString(),
        ]),
    ).toEqual([
      [null, null, '2026-12-07T09:59:57.001Z', '2026-12-07T21:00:00.456Z'],
      [null, null, '2026-12-07T09:59:57.001Z', '2026-12-07T21:00:00.456Z'],
    ]);
    expect(read.get(limit)!.map((row) => [row.order.status, row.order.filledQuantity, row.order.averageFillPrice])).toEqual([
      ['partially_filled', 3, '187.250000'],
      ['partially_filled', 0, null],
      ['filled', 10, '187.300000'],
    ]);
  });

  it('a field present in a state wins over the orders row, JSON null included; one absent comes from the orders row', async () => {
    const orderId = await insertOrder({
      type: 'market',
      side: 'buy',
      limit_price: null,
      quantity: 10,
      time_in_force: 'day',
      created_at: '2026-12-07T08:00:00.005Z',
      placed_at: '2026-12-07T08:00:00.050Z',
      expires_at: '2026-12-07T21:00:00.500Z',
      client_order_id: `fixed-${tag}`,
      rejected_reason: 'as the orders row has it',
      status: 'rejected',
    });
    const narrowState = (reason: string | null) => ({
      status: 'partially_filled',
      filled_quantity: 1,
      filled_notional: '10.2500',
      placed_at: '2026-12-07T08:00:00.050Z',
      filled_at: null,
      cancelled_at: null,
      expired_at: null,
      rejected_at: reason === null ? null : '2026-12-07T08:00:01.999Z',
      rejected_reason: reason,
      expires_at: null,
    });
    const execution = { exec_id: `F-${tag}`, exec_type: 'partial_fill', last_qty: 1, last_px: '10.25', cum_qty: 1, leaves_qty: 9 };
    const insert = (state: object) =>
      pool.query(
        `INSERT INTO order_stream (order_id, account_id, kind, state, execution, at) VALUES ($1, $2, 'fill', $3::jsonb, $4::jsonb, '2026-12-07T08:00:02.003Z')`,
        [orderId, DEMO_ACCOUNT_ID, JSON.stringify(state), JSON.stringify(execution)],
      );
    const { rows: before } = await pool.query('SELECT count(*)::int AS n FROM order_stream WHERE order_id = $1', [orderId]);
    await insert(narrowState(null));
    await insert(narrowState('venue said no'));
    // A whole state whose client_order_id is JSON null: null, whatever the orders row holds.
    const { rows } = await pool.query('SELECT * FROM orders WHERE id = $1', [orderId]);
    await insert({ ...rows[0], ...narrowState(null), client_order_id: null });
    const stream = (await streamOf(orderId, Number(before[0]!.n) + 3)).filter((row) => row.kind === 'fill');
    expect(stream.map((row) => [row.order.rejectedReason, row.order.expiresAt, row.order.clientOrderId])).toEqual([
      [null, null, `fixed-${tag}`],
      ['venue said no', null, `fixed-${tag}`],
      [null, null, null],
    ]);
    expect(stream[1]!.order.rejectedAt?.toISOString()).toBe('2026-12-07T08:00:01.999Z');
    for (const row of stream) {
      expect(row.order.limitPrice).toBeNull();
      expect(row.order.createdAt.toISOString()).toBe('2026-12-07T08:00:00.005Z');
      expect([row.order.type, row.order.side, row.order.quantity, row.order.timeInForce, row.order.status]).toEqual([
        'market',
        'buy',
        10,
        'day',
        'partially_filled',
      ]);
    }
  });
});
