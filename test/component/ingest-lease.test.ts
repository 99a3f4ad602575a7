import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../config/logger.js';
import { acquireLease, type Lease, poolApplicationName } from '../../ingest/leadership.js';
import { createDatabase } from '../support/ingest-stack.js';
import { waitFor } from '../support/wait.js';

// The session's lease (ingest/leadership.ts) against the real server. A holder whose process
// stops without closing anything keeps its connections open, and PostgreSQL cannot tell it
// from a quiet one: the lock's connection has an idle timeout (the TTL) that PostgreSQL
// enforces by itself, and the next holder ends the stopped one's transaction, which may be
// waiting for COPY data (no statement or idle timeout ends that).
const SESSION = 'lease-test';
const TTL_MS = 2000;
const logger = createLogger('lease-test', 'silent');
let databaseUrl: string;
let otherDatabaseUrl: string;
const stops: AbortController[] = [];
const leases: Lease[] = [];

beforeAll(async () => {
  databaseUrl = await createDatabase('ingest_lease');
  otherDatabaseUrl = await createDatabase('ingest_lease_other');
});

afterAll(async () => {
  for (const stop of stops) stop.abort();
  for (const lease of leases) await lease.release();
});

async function lease(holder: string, stopAfterMs?: number): Promise<Lease | undefined> {
  const stop = new AbortController();
  stops.push(stop);
  if (stopAfterMs !== undefined) setTimeout(() => stop.abort(), stopAfterMs);
  const got = await acquireLease({ databaseUrl, session: SESSION, holder, retryMs: 50, ttlMs: TTL_MS, logger, stop: stop.signal });
  if (got) leases.push(got);
  return got;
}

/** This process stops dead, as under SIGSTOP: no timer, no socket read, for `ms`. */
function stopTheProcess(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('the session lease', () => {
  it('a holder that keeps running keeps it: a standby trying for twice the TTL does not get it', async () => {
    const holder = await lease('running');
    expect(holder?.epoch).toBe(1);
    expect(await lease('standby', 2 * TTL_MS)).toBeUndefined();
    expect(holder?.lost.aborted).toBe(false);
    await holder?.release();
  });

  it('a stopped holder loses it after the TTL, even in the middle of a COPY; the next one ends its transaction and raises the epoch', async () => {
    const stopped = await lease('stopped');
    expect(stopped).toBeDefined();
    const epoch = stopped!.epoch;
    // Its batch in flight, as writeBatch runs it: the fence's UPDATE first (a row lock on the
    // session), then a COPY whose data stops coming.
    const batch = new pg.Client({ connectionString: databaseUrl, application_name: poolApplicationName(SESSION) });
    await batch.connect();
    batch.on('error', () => {});
    await batch.query('CREATE TEMP TABLE copy_target (n int)');
    await batch.query('BEGIN');
    await batch.query('UPDATE venue_sessions SET next_seq = 1000 WHERE session = $1 AND epoch = $2', [SESSION, epoch]);
    const copy = batch.query(copyFrom('COPY copy_target (n) FROM STDIN'));
    copy.on('error', () => {});
    copy.write('1\n');
    const observer = new pg.Client({ connectionString: databaseUrl });
    await observer.connect();
    await waitFor(
      async () => {
        const { rows } = await observer.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE 'COPY%'",
          [poolApplicationName(SESSION)],
        );
        return rows.length === 1 ? true : undefined;
      },
      10_000,
      'the COPY to wait for its data',
    );

    // The same session's ingest in another database (another deployment on the same server) is not touched.
    const other = new pg.Client({ connectionString: otherDatabaseUrl, application_name: poolApplicationName(SESSION) });
    await other.connect();
    await other.query('BEGIN');
    await other.query('SELECT 1');

    stopTheProcess(TTL_MS + 1500);
    const next = await lease('next', 30_000);
    expect(next?.epoch).toBe(epoch + 1);
    // The stopped holder's UPDATE was rolled back with its transaction: nothing of it counts.
    const { rows } = await observer.query('SELECT next_seq::int AS next_seq, holder FROM venue_sessions WHERE session = $1', [SESSION]);
    await observer.end();
    expect(rows).toEqual([{ next_seq: 1, holder: 'next' }]);
    // Once it runs again, it learns it lost the lock.
    await waitFor(async () => (stopped!.lost.aborted ? true : undefined), 10_000, 'the stopped holder to see its lock lost');
    await batch.end().catch(() => {});
    expect((await other.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await other.end();
  });
});
