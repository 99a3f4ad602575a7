import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import type { Logger } from '../config/logger.js';
import type { IngestConfig } from './ingest-config.js';
import { acquireLease, poolApplicationName } from './leadership.js';
import { createIngestMetrics, type IngestMetrics } from './metrics.js';
import { type Relay, startRelay } from './relay.js';
import { holdSession } from './session.js';

export interface Ingest {
  metrics: IngestMetrics;
  /** True while this process holds the venue session. */
  isLeader(): boolean;
  /** Stops reading, lets the batch in flight finish, releases the session. */
  close(): Promise<void>;
}

/**
 * The ingestion process (docs/executions.md): stands by until it wins the venue session's
 * lock, then holds the session and runs the terminal relay until it loses the lock (or a batch
 * is fenced), and stands by again. One pool for the batches and the relay; the lock has its
 * own connection (ingest/leadership.ts).
 */
export function startIngest(config: IngestConfig, logger: Logger): Ingest {
  const metrics = createIngestMetrics();
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DB_POOL_SIZE,
    statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
    connectionTimeoutMillis: 5000,
    application_name: poolApplicationName(config.VENUE_SESSION),
  });
  // An idle client's error (the server went away) is the pool's to discard, not a crash.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'));
  // Lazy: ingestion must not wait for Temporal, only the relay needs it.
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const holder = `${os.hostname()}:${process.pid}`;
  const stop = new AbortController();
  let leader = false;

  const done = (async () => {
    while (!stop.signal.aborted) {
      const lease = await acquireLease({
        databaseUrl: config.DATABASE_URL,
        session: config.VENUE_SESSION,
        holder,
        retryMs: config.INGEST_LEADER_RETRY_MS,
        ttlMs: config.INGEST_LEASE_TTL_MS,
        logger,
        stop: stop.signal,
      });
      if (!lease) break;
      leader = true;
      metrics.leader.set(1);
      metrics.leaderChanges.inc();
      logger.info({ session: config.VENUE_SESSION, epoch: lease.epoch, nextSeq: lease.nextSeq, holder }, 'holding the venue session');
      let relay: Relay | undefined;
      try {
        relay = startRelay({
          pool,
          temporal,
          logger,
          metrics,
          intervalMs: config.RELAY_INTERVAL_MS,
          concurrency: config.RELAY_CONCURRENCY,
          timeoutMs: config.RELAY_TIMEOUT_MS,
          retryMs: config.RELAY_RETRY_MS,
        });
        const why = await holdSession({ config, pool, metrics, logger, onTerminal: () => relay?.notify() }, lease, stop.signal);
        logger.info({ session: config.VENUE_SESSION, epoch: lease.epoch, why }, 'gave up the venue session');
      } catch (error) {
        logger.error({ err: error }, 'the venue session failed');
      } finally {
        leader = false;
        metrics.leader.set(0);
        await relay?.stop();
        await lease.release();
      }
    }
  })();

  return {
    metrics,
    isLeader: () => leader,
    async close() {
      stop.abort();
      await done;
      await pool.end().catch(() => {});
      await connection.close().catch(() => {});
    },
  };
}
