import type { Middleware } from 'koa';
import pg from 'pg';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { AccountsRepository } from '../prisma/accounts-repository.js';
import { authenticate, createAuthMetrics } from './auth.js';
import { AccountRateLimiter, createAuthFailureLimiter, createRateLimitMetrics, rateLimit } from './rate-limit.js';

export interface AccessControl {
  /** Authentication, then the per-account limit: createApp's `access`. */
  middleware: Middleware[];
  /** Opens the connections of the limiter's pool before the API says ready (a cold connect can exceed the storage timeout). */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Who may do what on the public port: authentication from the API key (api/auth.ts) and the
 * per-account rate limit shared by every API process (api/rate-limit.ts). The limiter's counters
 * live in PostgreSQL, through a small pool of its own so that they never wait behind orders'
 * inserts, and a failing limiter lets requests through (fail open).
 */
export function createAccessControl(config: Config, accounts: AccountsRepository, registry: Registry, logger: Logger): AccessControl {
  if (!config.AUTH_REQUIRED) {
    logger.warn('AUTH_REQUIRED=false: requests without an API key act as the demo account (the local demo only; never in production)');
  }
  const pool = new pg.Pool({
    connectionString: config.RATE_LIMIT_DATABASE_URL ?? config.DATABASE_URL,
    max: config.RATE_LIMIT_POOL_SIZE,
    connectionTimeoutMillis: config.RATE_LIMIT_STORAGE_TIMEOUT_MS,
    // Kept open: a connect on a request's path would exceed the storage timeout on a busy machine.
    idleTimeoutMillis: 0,
  });
  // An idle connection that breaks (PostgreSQL restarted) is replaced by the next call; it must not crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'a rate limiter connection to PostgreSQL failed'));
  const metrics = createRateLimitMetrics(registry);
  const storage = { pool, logger, metrics, storageTimeoutMs: config.RATE_LIMIT_STORAGE_TIMEOUT_MS };
  const limiter = new AccountRateLimiter({ ...storage, perMinute: config.RATE_LIMIT_PER_MINUTE, burst: config.RATE_LIMIT_BURST });
  return {
    middleware: [
      authenticate({
        keys: accounts,
        required: config.AUTH_REQUIRED,
        cacheTtlMs: config.AUTH_CACHE_TTL_MS,
        logger,
        metrics: createAuthMetrics(registry),
        failures: createAuthFailureLimiter({ ...storage, perMinute: config.AUTH_FAILURES_PER_MINUTE }),
      }),
      rateLimit(limiter, metrics),
    ],
    // Best effort, bounded by the connect timeout: a limiter storage that is down must not keep
    // the API unready (it fails open).
    async warmUp() {
      const clients = await Promise.allSettled(Array.from({ length: config.RATE_LIMIT_POOL_SIZE }, () => pool.connect()));
      for (const client of clients) if (client.status === 'fulfilled') client.value.release();
    },
    close: () => pool.end(),
  };
}
