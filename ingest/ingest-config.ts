import { z } from 'zod';
import { ConfigError, envDatabaseUrl, envLogLevel, envPort, parseEnv, presentEnv } from '../config/env.js';

const positiveMs = z.coerce.number().int().min(1);

/**
 * Every setting of the ingestion process (ingest/main.ts), validated once at start; a bad value
 * stops it with a message naming the variable (as the venue's exchange/venue-config.ts does).
 */
const ingestEnv = z.object({
  DATABASE_URL: envDatabaseUrl,
  VENUE_ADDRESS: z
    .string()
    .regex(/^.+:\d{1,5}$/, 'must be host:port')
    .default('localhost:7300'),
  VENUE_SESSION: z.string().min(1).max(64).default('ingest'),
  // One transaction takes up to this many reports, or what came within INGEST_BATCH_MS.
  INGEST_BATCH_MAX: z.coerce.number().int().min(1).max(100_000).default(2000),
  INGEST_BATCH_MS: z.coerce.number().int().min(0).max(10_000).default(5),
  // Unset: no metrics server.
  INGEST_METRICS_PORT: envPort.optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  // A standby process tries the session's lock this often.
  INGEST_LEADER_RETRY_MS: positiveMs.default(1000),
  // A holder that stops answering (stopped, paused, hung) loses the session's lock after this
  // long, and a standby takes over. Above the holder's liveness query period (1 s), with room.
  INGEST_LEASE_TTL_MS: z.coerce.number().int().min(2000).default(10_000),
  // Reconnects to the venue back off from the first value up to the second.
  INGEST_RECONNECT_MIN_MS: positiveMs.default(100),
  INGEST_RECONNECT_MAX_MS: positiveMs.default(2000),
  // A resend asked for and not answered within this long is asked for again.
  INGEST_RESEND_TIMEOUT_MS: positiveMs.default(2000),
  // Reports held for a gap at most: beyond it the reader stops and reconnects from the commit.
  INGEST_BUFFER_MAX: z.coerce.number().int().min(100).default(200_000),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  DB_STATEMENT_TIMEOUT_MS: positiveMs.default(30_000),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  // The terminal relay: how often it looks for unrelayed outbox rows, how many signals at once,
  // how long one signal may take, and how long a failed one waits before it is tried again.
  RELAY_INTERVAL_MS: positiveMs.default(250),
  RELAY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  RELAY_TIMEOUT_MS: positiveMs.default(10_000),
  RELAY_RETRY_MS: positiveMs.default(5000),
  LOG_LEVEL: envLogLevel,
});

export type IngestConfig = z.infer<typeof ingestEnv>;

export class IngestConfigError extends ConfigError {
  override readonly name = 'IngestConfigError';
}

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const present = presentEnv(env);
  // The name of the version that relayed by Update, still taken when the new one is not set.
  if (present.RELAY_TIMEOUT_MS === undefined && present.RELAY_UPDATE_TIMEOUT_MS !== undefined) {
    present.RELAY_TIMEOUT_MS = present.RELAY_UPDATE_TIMEOUT_MS;
  }
  return parseEnv(ingestEnv, present, 'ingest configuration', (message) => new IngestConfigError(message));
}
