import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import pg from 'pg';
import { inject } from 'vitest';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { applyMigrations } from '../../prisma/migrate.js';
import { type IngestProcess, startIngestProcess } from '../../scripts/infra/ingest-process.js';
import { startVenueProcess, type VenueProcess } from '../../scripts/infra/venue-process.js';

/**
 * A venue and ingestion processes of a test file's own, on a database of its own (the venue's
 * ledger and the service's tables hold only this file's orders), so the file may kill and
 * restart them.
 */
export interface IngestStack {
  databaseUrl: string;
  db: pg.Pool;
  venue: VenueProcess;
  venueEnv: Record<string, string>;
  ingests: IngestProcess[];
  startIngest(env?: Record<string, string>): Promise<IngestProcess>;
  restartVenue(signal?: NodeJS.Signals): Promise<void>;
  // biome-ignore lint/suspicious/noExplicitAny: the control port's JSON answers, read field by field
  control(pathname: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A database of its own on the suite's PostgreSQL, migrated unless `migrate: false` (a test that runs `npm run migrate` itself). */
export async function createDatabase(prefix: string, { migrate = true }: { migrate?: boolean } = {}): Promise<string> {
  const admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  if (migrate) await applyMigrations(url.toString());
  return url.toString();
}

export async function startIngestStack(options: {
  prefix: string;
  venueEnv?: Record<string, string>;
  ingestEnv?: Record<string, string>;
}): Promise<IngestStack> {
  const databaseUrl = await createDatabase(options.prefix);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `${options.prefix}-`));
  const venueEnv = {
    DATABASE_URL: databaseUrl,
    VENUE_PORT: String(await getPort()),
    VENUE_CONTROL_PORT: String(await getPort()),
    VENUE_DATA_DIR: dataDir,
    VENUE_MODE: 'scripted',
    VENUE_HEARTBEAT_MS: '300',
    EXCHANGE_FAILURE_RATE: '0',
    EXCHANGE_LATENCY_MS: '0',
    LOG_LEVEL: 'warn',
    ...options.venueEnv,
  };
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  // An idle connection the server ends makes the pool emit 'error' (it discards that connection);
  // with no listener that is an uncaught exception of no test. Kept and thrown by close().
  let dbError: Error | undefined;
  db.on('error', (error) => {
    dbError ??= error;
  });
  const stack: IngestStack = {
    databaseUrl,
    db,
    venue: await startVenueProcess({ ...venueEnv, LOG_LEVEL: 'info' }),
    venueEnv,
    ingests: [],
    async startIngest(env = {}) {
      const ingest = await startIngestProcess({
        DATABASE_URL: databaseUrl,
        VENUE_ADDRESS: stack.venue.address,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        INGEST_RECONNECT_MAX_MS: '500',
        INGEST_RESEND_TIMEOUT_MS: '1000',
        ...options.ingestEnv,
        ...env,
      });
      stack.ingests.push(ingest);
      return ingest;
    },
    async restartVenue(signal = 'SIGKILL') {
      await stack.venue.stop(signal);
      stack.venue = await startVenueProcess({ ...venueEnv, LOG_LEVEL: 'info' });
    },
    async control(pathname, body) {
      const response = await fetch(`${stack.venue.controlUrl}${pathname}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    async close() {
      for (const ingest of stack.ingests) await ingest.stop('SIGKILL');
      await stack.venue.stop('SIGKILL');
      await db.end();
      await rm(dataDir, { recursive: true, force: true });
      if (dbError) throw new Error(`an idle connection of the ingest stack's pool failed: ${dbError.message}`, { cause: dbError });
    },
  };
  return stack;
}

/** Orders straight into `orders` (no workflow), as the venue will know them. */
export async function insertOrders(
  db: pg.Pool,
  orders: {
    id?: string;
    type?: 'market' | 'limit';
    side?: 'buy' | 'sell';
    instrument: string;
    limitPrice?: string | null;
    quantity: number;
    status?: string;
    timeInForce?: 'day' | 'gtc';
    /** The demo account's when not given. */
    accountId?: string;
  }[],
): Promise<string[]> {
  const ids = orders.map((order) => order.id ?? randomUUID());
  await db.query(
    `INSERT INTO orders (id, type, side, instrument, limit_price, quantity, status, time_in_force, account_id)
     SELECT u.id, u.type::"OrderType", u.side::"OrderSide", u.instrument, u.limit_price::numeric, u.quantity, u.status::"OrderStatus",
            u.tif::"TimeInForce", COALESCE(u.account_id, '${DEMO_ACCOUNT_ID}'::uuid)
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::uuid[])
         AS u(id, type, side, instrument, limit_price, quantity, status, tif, account_id)`,
    [
      ids,
      orders.map((o) => o.type ?? 'market'),
      orders.map((o) => o.side ?? 'buy'),
      orders.map((o) => o.instrument),
      orders.map((o) => o.limitPrice ?? null),
      orders.map((o) => o.quantity),
      orders.map((o) => o.status ?? 'placing'),
      orders.map((o) => o.timeInForce ?? 'day'),
      orders.map((o) => o.accountId ?? null),
    ],
  );
  return ids;
}
