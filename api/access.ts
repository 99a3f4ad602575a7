import type { Middleware } from 'koa';
import pg from 'pg';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { AccountsRepository } from '../prisma/accounts-repository.js';
import { AccountRateLimiter } from './account-rate-limiter.js';
import { type AuthState, authenticate, createAuthMetrics } from './auth.js';
import { createAuthFailureLimiter } from './auth-failure-limiter.js';
import { createRateLimitMetrics } from './rate-limit-metrics.js';
import { rateLimit } from './rate-limit-middleware.js';

export interface AccessControl {
  /** Authentication, then the per-account limit: createApp's `access`. */
  middleware: Middleware[];
  /** Opens the connections of the limiter's pool before the API says ready (a cold connect can exceed the storage timeout). */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Who may do what on the public port: authentication from the API key (api/auth.ts) and the
 * per-account rate limit shared by every API process (api/account-rate-limiter.ts). The limiter's counters
 * live in PostgreSQL, through a small pool of its own so that they never wait behind orders'
 * inserts, and a failing limiter lets requests through (fail open). With AUTH_REQUIRED=false
 * requests without a key (the local demo's) are not limited unless RATE_LIMIT_KEYLESS=true.
 */
export function createAccessControl(config: Config, accounts: AccountsRepository, registry: Registry, logger: Logger): AccessControl {
  if (!config.AUTH_REQUIRED) {
    logger.warn(
      { rateLimitKeyless: config.RATE_LIMIT_KEYLESS },
      `AUTH_REQUIRED=false: requests without an API key act as the demo account, ${
        config.RATE_LIMIT_KEYLESS ? 'rate limited (RATE_LIMIT_KEYLESS=true)' : 'not rate limited (RATE_LIMIT_KEYLESS=true limits them)'
      } (the local demo only; never in production)`,
    );
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
  const accountLimit = rateLimit(limiter, metrics);
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
      config.RATE_LIMIT_KEYLESS ? accountLimit : withKeyOnly(accountLimit),
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

/**
 * The limit for requests that carry a key: one without (possible only with AUTH_REQUIRED=false,
 * the local demo, where it acts as the demo account) goes on unlimited, so that the demo's plain
 * `POST /orders` is never throttled; the demo account's own key is limited as any key.
 */
function withKeyOnly(limit: Middleware): Middleware {
  return (ctx, next) => ((ctx.state as Partial<AuthState>).keyId === null ? next() : limit(ctx, next));
}
