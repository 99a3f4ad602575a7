import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../../ingest/transaction.js';
import { createDatabase } from '../support/ingest-stack.js';

// A batch's transaction (ingest/transaction.ts) whose connection the server ends while the
// client is out of the pool, between two statements: what a new holder of the session does to
// the backends of one that stopped (ingest/leadership.ts), and what a server restart does. pg
// emits 'error' on that client; with no listener the ingestion process died of it.
let pool: pg.Pool;
let admin: pg.Client;

beforeAll(async () => {
  const url = await createDatabase('ingest_tx');
  pool = new pg.Pool({ connectionString: url, max: 1 });
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await pool?.end();
});

describe('inTransaction', () => {
  it('a connection ended between two statements fails the work, not the process; the pool hands out a new one', async () => {
    const work = inTransaction(pool, async (client) => {
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
      // Not events.once: it would listen for 'error' itself.
      const ended = new Promise<void>((resolve) => client.on('end', () => resolve()));
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      // No statement runs when the end arrives: pg's 'error' goes to the client itself.
      await ended;
      await client.query('SELECT 1');
    });
    await expect(work).rejects.toThrow();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('commits what the work did, and rolls it back when the work fails', async () => {
    await pool.query('CREATE TABLE tx_probe (n int)');
    await inTransaction(pool, (client) => client.query('INSERT INTO tx_probe VALUES (1)'));
    await expect(
      inTransaction(pool, async (client) => {
        await client.query('INSERT INTO tx_probe VALUES (2)');
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    expect((await pool.query('SELECT n FROM tx_probe')).rows).toEqual([{ n: 1 }]);
  });
});
