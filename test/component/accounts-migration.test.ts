import { rm } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { applyMigrations, readMigrations } from '../../prisma/migrate.js';
import { createEmptyDatabase, migrationsBefore } from '../support/migrations.js';

const ACCOUNTS_MIGRATION = '20261202010000_accounts';
const suiteUrl = inject('databaseUrl');
let admin: pg.Client;
let database: string;
let url: string;
let before: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: suiteUrl });
  await admin.connect();
  ({ name: database, url } = await createEmptyDatabase(admin, suiteUrl, 'accounts'));
  // The migrations as they were before accounts existed (the later ones assume accounts).
  before = await migrationsBefore(ACCOUNTS_MIGRATION);
});

afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
  await rm(before, { recursive: true, force: true });
});

describe(`migration ${ACCOUNTS_MIGRATION}`, () => {
  it('applies on top of a database with orders: they belong to the demo account; keys and client ids are unique per account; events record the actor', async () => {
    expect(await applyMigrations(url, before)).not.toContain(ACCOUNTS_MIGRATION);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows: old } = await db.query<{ id: string }>(
        `INSERT INTO orders (type, side, instrument, quantity, idempotency_key) VALUES ('market', 'buy', 'US0378331005', 1, 'k1') RETURNING id`,
      );
      await db.query(
        `INSERT INTO idempotency_keys (key, request_hash, locked_at, expires_at) VALUES ('k1', repeat('0', 64), now(), now() + interval '1 day')`,
      );

      const later = (await readMigrations()).map((m) => m.name).filter((name) => name >= ACCOUNTS_MIGRATION);
      expect(await applyMigrations(url)).toEqual(later);
      expect(later[0]).toBe(ACCOUNTS_MIGRATION);

      const { rows: migrated } = await db.query('SELECT account_id, status_actor, client_order_id FROM orders WHERE id = $1', [old[0]!.id]);
      expect(migrated).toEqual([{ account_id: DEMO_ACCOUNT_ID, status_actor: 'system', client_order_id: null }]);
      expect((await db.query('SELECT account_id FROM idempotency_keys')).rows).toEqual([{ account_id: DEMO_ACCOUNT_ID }]);

      const { rows: account } = await db.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('other') RETURNING id`);
      const other = account[0]!.id;
      // The same Idempotency-Key and client_order_id in another account: another order.
      await db.query(
        `INSERT INTO idempotency_keys (account_id, key, request_hash, locked_at, expires_at) VALUES ($1, 'k1', repeat('0', 64), now(), now() + interval '1 day')`,
        [other],
      );
      const insert = (accountId: string, key: string, clientOrderId: string) =>
        db.query<{ id: string }>(
          `INSERT INTO orders (type, side, instrument, quantity, account_id, idempotency_key, client_order_id)
           VALUES ('market', 'buy', 'US0378331005', 1, $1, $2, $3) RETURNING id`,
          [accountId, key, clientOrderId],
        );
      const { rows: created } = await insert(other, 'k1', 'c1');
      await expect(insert(other, 'k1', 'c2')).rejects.toThrow(/orders_account_id_idempotency_key_key/);
      await expect(insert(other, 'k2', 'c1')).rejects.toThrow(/orders_account_id_client_order_id_key/);
      await insert(DEMO_ACCOUNT_ID, 'k2', 'c1');

      // The writer of a status names its actor in the same UPDATE; the trigger records it.
      await db.query(`UPDATE orders SET status = 'rejected', rejected_reason = 'r', status_actor = 'abcdefghijkl' WHERE id = $1`, [
        created[0]!.id,
      ]);
      const { rows: events } = await db.query('SELECT status, actor, reason FROM order_events WHERE order_id = $1 ORDER BY id', [
        created[0]!.id,
      ]);
      expect(events).toEqual([
        { status: 'pending', actor: 'system', reason: null },
        { status: 'rejected', actor: 'abcdefghijkl', reason: 'r' },
      ]);
      // The stream still gets every status, with the order as it stands.
      const { rows: stream } = await db.query(
        `SELECT state->>'status' AS status, state->>'account_id' AS account FROM order_stream WHERE order_id = $1 ORDER BY id`,
        [created[0]!.id],
      );
      expect(stream).toEqual([
        { status: 'pending', account: other },
        { status: 'rejected', account: other },
      ]);
      await expect(
        db.query(
          `INSERT INTO orders (type, side, instrument, quantity, account_id) VALUES ('market', 'buy', 'US0378331005', 1, gen_random_uuid())`,
        ),
      ).rejects.toThrow(/orders_account_id_fkey/);
    } finally {
      await db.end();
    }
  });
});
