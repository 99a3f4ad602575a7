import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { moneyText, type Position, type PositionFill, positionOf } from '../../domain/positions.js';
import type { ExecutionReport } from '../../exchange/protocol.js';
import { writeBatch } from '../../ingest/batch-writer.js';
import { applyMigrations } from '../../prisma/migrate.js';
import { createEmptyDatabase, migrationsBefore } from '../support/migrations.js';

// Migration …_positions on a database with fills stored before it: its backfill (the rule of
// domain/positions.ts in SQL) gives every account and instrument the position its standing fills
// give, busts left out; the ingestion then goes on from those rows.

const MIGRATION = '20261208000000_positions';
const suiteUrl = inject('databaseUrl');
let admin: pg.Client;
let database: string;
let url: string;
let before: string;
let pool: pg.Pool;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: suiteUrl });
  await admin.connect();
  ({ name: database, url } = await createEmptyDatabase(admin, suiteUrl, 'positionsmig'));
  before = await migrationsBefore(MIGRATION);
  pool = new pg.Pool({ connectionString: url, max: 2 });
  // pool.end() resolves before its connections have closed, and the DROP … WITH (FORCE) of
  // afterAll ends what is left of them ("terminating connection due to administrator command"):
  // that end must reach no client, nor the pool (a client idle in it passes its error on), with
  // no listener: an uncaught exception that failed a CI run with every test passed.
  pool.on('connect', (client) => client.on('error', () => {}));
  pool.on('error', () => {});
});

afterAll(async () => {
  await pool?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await rm(before, { recursive: true, force: true });
});

const at = (n: number) => `2026-12-07T12:00:${String(n).padStart(2, '0')}.${100 + n}Z`;

interface Stored {
  row: { account_id: string; instrument: string; quantity: string; average_entry_price: string; realized_pnl: string; updated_at: string };
}

const shown = (position: Position) => ({
  quantity: String(position.quantity),
  average_entry_price: moneyText(position.averageEntryPrice),
  realized_pnl: moneyText(position.realizedPnl),
  updated_at: position.updatedAt,
});

describe(`migration ${MIGRATION}`, () => {
  it('backfills each position from its standing fills in executions order, exactly; the ingestion goes on from it', async () => {
    expect(await applyMigrations(url, before)).not.toContain(MIGRATION);
    const { rows: accounts } = await pool.query<{ id: string }>('INSERT INTO accounts (name) VALUES ($1) RETURNING id', [
      `posmig-${randomBytes(4).toString('hex')}`,
    ]);
    const accountId = accounts[0]!.id;
    const order = async (side: 'buy' | 'sell', instrument: string) =>
      (
        await pool.query<{ id: string }>(
          `INSERT INTO orders (type, side, instrument, quantity, status, account_id) VALUES ('market', $1, $2, 1000, 'partially_filled', $3) RETURNING id`,
          [side, instrument, accountId],
        )
      ).rows[0]!.id;
    const buy = await order('buy', 'MIGRATEPOS01');
    const sell = await order('sell', 'MIGRATEPOS01');
    const gone = await order('buy', 'MIGRATEPOS02');
    let seq = 0;
    const execution = async (orderId: string, type: string, qty: number, px: string, ref: string | null = null) => {
      seq += 1;
      await pool.query(
        `INSERT INTO executions (venue, exec_id, order_id, seq, exec_type, order_status, last_qty, last_px, cum_qty, leaves_qty, ref_exec_id, venue_time)
         VALUES ('MIG', $1, $2, $3, $4, 'partially_filled', $5, $6, 0, 0, $7, $8)`,
        [`P-${seq}`, orderId, seq, type, qty, px, ref, at(seq)],
      );
      return `P-${seq}`;
    };
    const fills: (PositionFill & { execId: string })[] = [];
    const fill = async (orderId: string, side: 'buy' | 'sell', qty: number, px: string) => {
      const execId = await execution(orderId, 'partial_fill', qty, px);
      fills.push({ execId, side, quantity: qty, price: px, at: at(seq) });
      return execId;
    };
    const busted = await fill(buy, 'buy', 3, '10.1111');
    await fill(buy, 'buy', 4, '10.2222');
    await fill(sell, 'sell', 9, '10.3333');
    await fill(buy, 'buy', 1, '9.9999');
    await execution(buy, 'trade_bust', 3, '10.1111', busted);
    // Every fill of the other instrument busted: nothing stands, no position.
    const only = await execution(gone, 'partial_fill', 5, '1.0000');
    await execution(gone, 'trade_bust', 5, '1.0000', only);

    expect(await applyMigrations(url)).toContain(MIGRATION);
    const standing = fills.filter((f) => f.execId !== busted);
    const expected = positionOf(standing, standing.at(-1)!.at);
    const read = async () =>
      (
        await pool.query<Stored['row']>(
          `SELECT account_id, instrument, quantity::text AS quantity, average_entry_price::text AS average_entry_price,
                  realized_pnl::text AS realized_pnl, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
             FROM positions WHERE account_id = $1 ORDER BY instrument`,
          [accountId],
        )
      ).rows;
    // 4 @ 10.2222, then a sell of 9 @ 10.3333 (short 5 @ 10.3333, 4 × 0.1111 realised), then a buy of 1 @ 9.9999.
    expect(await read()).toEqual([{ account_id: accountId, instrument: 'MIGRATEPOS01', ...shown(expected) }]);
    expect(shown(expected)).toMatchObject({ quantity: '-4', average_entry_price: '10.333300', realized_pnl: '0.777800' });

    // The ingestion goes on from the backfilled row.
    await pool.query('INSERT INTO venue_sessions (session, next_seq, epoch) VALUES ($1, $2, 1)', ['posmig', seq + 1]);
    const report: ExecutionReport = {
      type: 'execution_report',
      seq: seq + 1,
      poss_dup: false,
      venue: 'MIG',
      exec_id: 'P-new',
      order_id: sell,
      exec_type: 'partial_fill',
      order_status: 'partially_filled',
      side: 'sell',
      last_qty: 2,
      last_px: '10.0001',
      cum_qty: 11,
      leaves_qty: 989,
      avg_px: null,
      transact_time: at(50),
      ref_exec_id: null,
      text: null,
    };
    await pool.query('UPDATE orders SET filled_quantity = 9, filled_notional = 93 WHERE id = $1', [sell]);
    const items = [{ seq: report.seq, report, reject: null, raw: '', readAt: 0, repair: false }];
    expect((await writeBatch(pool, { name: 'posmig', epoch: 1 }, items, seq + 2)).applied).toBe(1);
    const next = positionOf([...standing, { side: 'sell', quantity: 2, price: '10.0001', at: at(50) }], at(50));
    expect(await read()).toEqual([{ account_id: accountId, instrument: 'MIGRATEPOS01', ...shown(next) }]);
  });
});
