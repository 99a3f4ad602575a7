import type pg from 'pg';
import { type RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../config/logger.js';
import type { LimiterName, RateLimitMetrics } from './rate-limit-metrics.js';

/** The table of migration 20261202010000_accounts, in rate-limiter-flexible's layout. */
export const RATE_LIMIT_TABLE = 'rate_limits';
/** The limits' window, and their counters' in the storage. */
export const WINDOW_SECONDS = 60;

export interface StorageOptions {
  /** The PostgreSQL pool the counters live in (a small one of its own is best: it is on every request's path). */
  pool: pg.Pool;
  logger: Logger;
  metrics: RateLimitMetrics;
  /** RATE_LIMIT_STORAGE_TIMEOUT_MS: a storage call slower than this counts as failed. */
  storageTimeoutMs: number;
  /** After a storage failure, the limiter lets requests through without asking it for this long (no pile-up on a dead database). */
  failOpenMs?: number;
  /** Prefix of the counters' keys (tests use their own). */
  keyPrefix?: string;
}

class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError';
}

/** The storage's answer, a RateLimiterRes also when over the limit; rejects only when the storage failed. */
export async function consume(limiter: RateLimiterPostgres, key: string, points: number, timeoutMs: number): Promise<RateLimiterRes> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(`rate limiter storage did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([limiter.consume(key, points), timeout]);
  } catch (error) {
    if (error instanceof RateLimiterRes) return error;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Fail-open bookkeeping shared by both limiters: one warning per outage window, every failure counted. */
export class FailOpen {
  private until = 0;

  constructor(
    private readonly limiter: LimiterName,
    private readonly options: StorageOptions,
  ) {}

  get active(): boolean {
    return Date.now() < this.until;
  }

  record(error: unknown): void {
    this.options.metrics.failures.inc({ limiter: this.limiter });
    if (!this.active) {
      this.options.logger.warn(
        { err: error, limiter: this.limiter },
        'rate limiter storage failed: requests go on without the limit until it answers again',
      );
    }
    this.until = Date.now() + (this.options.failOpenMs ?? 1000);
  }
}
