import pg from 'pg';
import type { OrderTicket } from '../domain/order.js';

/**
 * The simulated exchange's own durable record of the orders it accepted, keyed by the client's
 * order id as a real venue keys them: a second submission of an id is refused as a duplicate and
 * counted. It lives in its own schema, outside the service's data model (a real exchange keeps
 * it on its side), so tests can prove that every order was accepted exactly once.
 */
export interface ExchangeLedger {
  /**
   * Records the order; 'duplicate' when this order id was accepted before, 'cancelled' when the
   * client cancelled this id at the exchange first (the submission is refused).
   */
  accept(order: OrderTicket | { id: string }): Promise<'accepted' | 'duplicate' | 'cancelled'>;
  /**
   * Cancels an order id at the exchange: 'cancelled' unless the exchange accepted it already
   * ('already_placed'). Afterwards a submission of the id is refused. Idempotent.
   */
  cancel(orderId: string): Promise<'cancelled' | 'already_placed'>;
  /** Every accepted order with the ticket it was accepted with (the venue's rebuild at start). */
  accepted(): Promise<{ orderId: string; ticket: unknown; acceptedAt: Date }[]>;
  close(): Promise<void>;
}

export interface LedgerEntry {
  orderId: string;
  /** 'accepted' (placed at the exchange) or 'cancelled' (cancelled there before it was placed). */
  status: 'accepted' | 'cancelled';
  acceptedAt: Date;
  duplicateSubmissions: number;
}

const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS exchange_sim;
CREATE TABLE IF NOT EXISTS exchange_sim.accepted_orders (
  order_id              UUID PRIMARY KEY,
  accepted_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
  duplicate_submissions INTEGER NOT NULL DEFAULT 0,
  ticket                JSONB
);
ALTER TABLE exchange_sim.accepted_orders ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'accepted';
ALTER TABLE exchange_sim.accepted_orders ALTER COLUMN ticket DROP NOT NULL;`;

// Serialises the CREATE ... IF NOT EXISTS of many workers starting at once.
const LEDGER_SETUP_LOCK = 4_711_001;

export async function ensureLedgerSchema(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [LEDGER_SETUP_LOCK]);
  try {
    await client.query(SCHEMA);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LEDGER_SETUP_LOCK]);
  }
}

export function createPostgresLedger(databaseUrl: string, options: { poolSize?: number; timeoutMs?: number } = {}): ExchangeLedger {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.timeoutMs ?? 2000,
    query_timeout: options.timeoutMs ?? 2000,
  });
  pool.on('error', () => {}); // an idle client losing its connection is not fatal; the next query reconnects
  let ready: Promise<void> | undefined;
  const setup = async () => {
    const client = await pool.connect();
    try {
      await ensureLedgerSchema(client);
    } finally {
      client.release();
    }
  };
  const ensureReady = () =>
    (ready ??= setup().catch((error: unknown) => {
      ready = undefined;
      throw error;
    }));
  return {
    async accept(order) {
      await ensureReady();
      const { rows } = await pool.query<{ inserted: boolean; status: string }>(
        `INSERT INTO exchange_sim.accepted_orders (order_id, ticket) VALUES ($1, $2)
         ON CONFLICT (order_id) DO UPDATE SET duplicate_submissions = accepted_orders.duplicate_submissions + 1
         RETURNING (xmax = 0) AS inserted, status`,
        [order.id, JSON.stringify(order)],
      );
      const row = rows[0];
      if (row?.status === 'cancelled') return 'cancelled';
      return row?.inserted ? 'accepted' : 'duplicate';
    },
    async cancel(orderId) {
      await ensureReady();
      await pool.query(
        `INSERT INTO exchange_sim.accepted_orders (order_id, status) VALUES ($1, 'cancelled') ON CONFLICT (order_id) DO NOTHING`,
        [orderId],
      );
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM exchange_sim.accepted_orders WHERE order_id = $1', [
        orderId,
      ]);
      return rows[0]?.status === 'accepted' ? 'already_placed' : 'cancelled';
    },
    async accepted() {
      await ensureReady();
      const { rows } = await pool.query<{ order_id: string; ticket: unknown; accepted_at: Date }>(
        `SELECT order_id, ticket, accepted_at FROM exchange_sim.accepted_orders WHERE status = 'accepted'`,
      );
      return rows.map((row) => ({ orderId: row.order_id, ticket: row.ticket, acceptedAt: row.accepted_at }));
    },
    close: () => pool.end(),
  };
}

/** Reads the ledger (for tests and the benchmark). */
export async function readLedger(databaseUrl: string): Promise<LedgerEntry[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await ensureLedgerSchema(client);
    const { rows } = await client.query<{
      order_id: string;
      status: 'accepted' | 'cancelled';
      accepted_at: Date;
      duplicate_submissions: number;
    }>('SELECT order_id, status, accepted_at, duplicate_submissions FROM exchange_sim.accepted_orders');
    return rows.map((row) => ({
      orderId: row.order_id,
      status: row.status,
      acceptedAt: row.accepted_at,
      duplicateSubmissions: row.duplicate_submissions,
    }));
  } finally {
    await client.end();
  }
}
