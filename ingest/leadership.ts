import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../config/logger.js';

/** The advisory lock's first key: this process's kind; the second is derived from the session name. */
const LOCK_CLASS = 0x494e4753; // 'INGS'
const LIVENESS_MS = 1000;
const LIVENESS_TIMEOUT_MS = 3000;

/** The application_name of an ingest process's pool connections (its batches and relay) for a session. */
export function poolApplicationName(session: string): string {
  return `ingest:${session}`;
}

/** 32-bit FNV-1a of the session name, as a signed int4 (the advisory lock's second key). */
export function sessionLockKey(session: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(session, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

export interface Lease {
  epoch: number;
  /** The next seq the session expects, as committed. */
  nextSeq: number;
  /** Aborted the moment the lock's connection fails (or release is called). */
  lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * Leadership of one venue session (docs/executions.md, "Ingestion"): a session-level advisory
 * lock held on a connection of its own. A standby tries it every `retryMs`; the winner raises
 * the session's epoch (every batch it writes is fenced on it). The lock lives as long as its
 * connection: that connection's error or end, or a liveness query that fails, aborts `lost`
 * at once, and the caller stops reading; a holder that did not notice is fenced by the epoch.
 *
 * A holder that stops without closing anything (SIGSTOP, a paused VM) would keep its lock for
 * ever: its connections stay open, and PostgreSQL never sees a stopped client. So the lock's
 * connection has an idle timeout of `ttlMs` (its liveness query keeps a running holder busy
 * every second), which PostgreSQL enforces by itself; and the winner ends the previous holder's
 * transactions before it raises the epoch (see takeOver).
 */
export async function acquireLease(options: {
  databaseUrl: string;
  session: string;
  holder: string;
  retryMs: number;
  /** How long the lock outlives a holder that stopped answering. */
  ttlMs: number;
  logger: Logger;
  stop: AbortSignal;
}): Promise<Lease | undefined> {
  const { session, logger, stop } = options;
  const key = sessionLockKey(session);
  while (!stop.aborted) {
    const client = new pg.Client({
      connectionString: options.databaseUrl,
      keepAlive: true,
      query_timeout: LIVENESS_TIMEOUT_MS,
      connectionTimeoutMillis: 5000,
      application_name: `ingest-lock:${session}`,
    });
    const lost = new AbortController();
    client.on('error', (error) => {
      if (!lost.signal.aborted) logger.warn({ err: error, session }, 'the session lock connection failed');
      lost.abort();
    });
    client.on('end', () => lost.abort());
    try {
      await client.connect();
      while (!stop.aborted && !lost.signal.aborted) {
        const tried = await client.query('SELECT pg_try_advisory_lock($1, $2) AS won', [LOCK_CLASS, key]);
        if ((tried.rows[0] as { won: boolean }).won) {
          const row = await takeOver(client, session, options.holder, options.ttlMs);
          const liveness = setInterval(() => {
            client.query('SELECT 1').catch((error: unknown) => {
              if (!lost.signal.aborted) logger.warn({ err: error, session }, 'the session lock connection does not answer');
              lost.abort();
              client.end().catch(() => {});
            });
          }, LIVENESS_MS);
          lost.signal.addEventListener('abort', () => clearInterval(liveness), { once: true });
          return {
            epoch: Number(row.epoch),
            nextSeq: Number(row.next_seq),
            lost: lost.signal,
            async release() {
              lost.abort();
              // Ending the connection ends its session-level lock with it.
              await client.end().catch(() => {});
            },
          };
        }
        await sleep(options.retryMs, undefined, { signal: stop }).catch(() => {});
      }
    } catch (error) {
      if (!stop.aborted) logger.warn({ err: error, session }, 'could not try the session lock; trying again');
    }
    await client.end().catch(() => {});
    if (!stop.aborted) await sleep(options.retryMs, undefined, { signal: stop }).catch(() => {});
  }
  return undefined;
}

/**
 * The winner's first statements. A previous holder that stopped mid-batch still has its
 * transaction open, holding the row lock of the session's fence (its first statement) and its
 * orders' locks: neither the idle-in-transaction timeout nor the statement timeout ends a
 * backend that waits for a client's COPY data or for a client to read a result, so the winner
 * ends those backends itself: the transactions of this session's pool connections in this
 * database, which only a holder runs (batches, relay), so they are the previous holder's, and
 * uncommitted (what a batch held is read again from the committed seq). Then it raises the
 * epoch, and only then sets its own lock connection's idle timeout (a standby's lock
 * connection may idle between its tries).
 */
async function takeOver(client: pg.Client, session: string, holder: string, ttlMs: number): Promise<{ epoch: string; next_seq: string }> {
  await client.query(
    // Of its own role only: those it may always end (another role's would fail the take-over).
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND usename = current_user AND application_name = left($1, 63)
        AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`,
    [poolApplicationName(session)],
  );
  const bumped = await client.query(
    `INSERT INTO venue_sessions (session, next_seq, epoch, holder) VALUES ($1, 1, 1, $2)
     ON CONFLICT (session) DO UPDATE SET epoch = venue_sessions.epoch + 1, holder = EXCLUDED.holder, updated_at = now()
     RETURNING epoch, next_seq`,
    [session, holder],
  );
  await client.query("SELECT set_config('idle_session_timeout', $1, false)", [String(ttlMs)]);
  return bumped.rows[0] as { epoch: string; next_seq: string };
}
