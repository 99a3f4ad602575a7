import type { Middleware } from 'koa';
import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../config/logger.js';
import type { AuthFailureLimiter, AuthState } from './auth.js';
import { TooManyRequestsError } from './errors.js';
import { noteRefusal } from './request-context.js';

/** The table of migration 20261202010000_accounts, in rate-limiter-flexible's layout. */
export const RATE_LIMIT_TABLE = 'rate_limits';
/** A burst's extra requests are counted over this window, ten of the per-minute windows. */
export const BURST_WINDOW_SECONDS = 600;
const WINDOW_SECONDS = 60;
const ACCOUNT_POLICY = 'per-account';
const BURST_POLICY = 'per-account-burst';
const AUTH_FAILURE_POLICY = 'auth-failures-per-address';

export type LimiterName = 'account' | 'auth_failures';

export interface RateLimitMetrics {
  /** Calls to the limiter's storage that failed or took too long: the requests went on unlimited. */
  failures: Counter<'limiter'>;
  /** Requests answered 429. */
  limited: Counter<'limiter'>;
  /** Calls made to the limiter's storage (database round trips), answered or not. */
  storageCalls: Counter<'limiter'>;
}

export function createRateLimitMetrics(registry: Registry): RateLimitMetrics {
  const failures = new Counter({
    name: 'rate_limiter_failures_total',
    help: 'Calls to the rate limiter storage (PostgreSQL) that failed or timed out; the requests concerned were let through (fail open).',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });
  const limited = new Counter({
    name: 'rate_limited_requests_total',
    help: 'Requests answered 429, by limiter: account (per-account limit) or auth_failures (failed authentications per address).',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });
  const storageCalls = new Counter({
    name: 'rate_limiter_storage_calls_total',
    help: 'Calls to the rate limiter storage (PostgreSQL round trips), by limiter: account (one per lease of points) or auth_failures.',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });
  for (const limiter of ['account', 'auth_failures'] as const) {
    failures.inc({ limiter }, 0);
    limited.inc({ limiter }, 0);
    storageCalls.inc({ limiter }, 0);
  }
  return { failures, limited, storageCalls };
}

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

export interface AccountLimitOptions extends StorageOptions {
  /** RATE_LIMIT_PER_MINUTE, per account across all API processes. */
  perMinute: number;
  /** RATE_LIMIT_BURST: extra requests beyond perMinute, per BURST_WINDOW_SECONDS. */
  burst: number;
  /** Points a process takes from the shared counter at once and serves locally (fewer near the limit). */
  leaseSize?: number;
}

/** One answer of a limiter: the headers every answer carries, and whether to refuse. */
export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
  headers: Record<string, string>;
}

class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError';
}

/** The storage's answer, a RateLimiterRes also when over the limit; rejects only when the storage failed. */
async function consume(limiter: RateLimiterPostgres, key: string, points: number, timeoutMs: number): Promise<RateLimiterRes> {
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

/** How many of `asked` points the shared counter granted: all, or what was left before this call went over. */
function granted(limit: number, asked: number, res: RateLimiterRes): number {
  return Math.max(0, Math.min(asked, limit - (res.consumedPoints - asked)));
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

function quoted(name: string): string {
  return `"${name}"`;
}

/** Fail-open bookkeeping shared by both limiters: one warning per outage window, every failure counted. */
class FailOpen {
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

interface Bucket {
  /** Points leased from the shared counter, not served yet. */
  tokens: number;
  /** When the current per-minute window of the shared counter ends (epoch ms); the lease ends with it. */
  windowEndsAt: number;
  /** The shared counter's remaining points as of the last lease (other processes' leases included). */
  sharedRemaining: number;
  /** The per-minute points are gone until windowEndsAt: leases come from the burst counter. */
  mainExhausted: boolean;
  /** Nothing left in either counter until then: refused without asking the storage. */
  blockedUntil: number;
  /** The lease in flight, resolving to false when the storage failed. */
  lease?: Promise<boolean>;
}

/**
 * The per-account limit, shared by every API process through one PostgreSQL table
 * (rate-limiter-flexible's RateLimiterPostgres, fixed windows of a minute). A process leases
 * points in small batches (leaseSize, fewer as the account nears its limit) and serves them
 * locally, so most requests cost no round trip; each lease is one atomic increment of the shared
 * counter, and a lease that goes over keeps only what was left, so all processes together never
 * grant more than perMinute (+ burst) in a window. Leased points expire with the window. When
 * the per-minute points are gone, the burst counter (burst points per BURST_WINDOW_SECONDS)
 * serves. A storage failure lets requests through (fail open), logged and counted.
 */
export class AccountRateLimiter {
  readonly policyHeader: string;
  private readonly main: RateLimiterPostgres;
  private readonly burst: RateLimiterPostgres | undefined;
  private readonly buckets = new LRUCache<string, Bucket>({ max: 100_000, ttl: WINDOW_SECONDS * 1000 });
  private readonly failOpen: FailOpen;
  private readonly leaseSize: number;

  constructor(private readonly options: AccountLimitOptions) {
    const prefix = options.keyPrefix ?? 'rl';
    this.main = new RateLimiterPostgres({
      storeClient: options.pool,
      storeType: 'pool',
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true,
      clearExpiredByTimeout: false,
      keyPrefix: `${prefix}:account`,
      points: options.perMinute,
      duration: WINDOW_SECONDS,
    });
    this.burst =
      options.burst > 0
        ? new RateLimiterPostgres({
            storeClient: options.pool,
            storeType: 'pool',
            tableName: RATE_LIMIT_TABLE,
            tableCreated: true,
            clearExpiredByTimeout: false,
            keyPrefix: `${prefix}:burst`,
            points: options.burst,
            duration: BURST_WINDOW_SECONDS,
          })
        : undefined;
    this.failOpen = new FailOpen('account', options);
    this.leaseSize = Math.max(1, options.leaseSize ?? 10);
    const policies = [`${quoted(ACCOUNT_POLICY)};q=${options.perMinute};w=${WINDOW_SECONDS}`];
    if (options.burst > 0) policies.push(`${quoted(BURST_POLICY)};q=${options.burst};w=${BURST_WINDOW_SECONDS}`);
    this.policyHeader = policies.join(', ');
  }

  /** Takes one request's point for the account. */
  async take(accountId: string): Promise<RateDecision> {
    for (;;) {
      const now = Date.now();
      let bucket = this.buckets.get(accountId);
      // A new bucket (windowEndsAt 0) waits for its first lease; an old one ends with its window.
      if (!bucket || (bucket.windowEndsAt !== 0 && bucket.windowEndsAt <= now && !bucket.lease)) {
        bucket = { tokens: 0, windowEndsAt: 0, sharedRemaining: this.options.perMinute, mainExhausted: false, blockedUntil: 0 };
        this.buckets.set(accountId, bucket);
      }
      if (bucket.blockedUntil > now) {
        return this.decision(false, 0, bucket.blockedUntil - now);
      }
      if (bucket.tokens > 0) {
        bucket.tokens -= 1;
        return this.decision(true, bucket.sharedRemaining + bucket.tokens, bucket.windowEndsAt - now);
      }
      if (this.failOpen.active) return this.failedOpen();
      const lease = bucket.lease ?? this.startLease(accountId, bucket);
      // The requests waiting for a failed lease go on unlimited; after a good one, they share its points.
      if (!(await lease)) return this.failedOpen();
    }
  }

  private startLease(accountId: string, bucket: Bucket): Promise<boolean> {
    const lease = this.lease(accountId, bucket).then(
      () => true,
      (error: unknown) => {
        this.failOpen.record(error);
        return false;
      },
    );
    bucket.lease = lease;
    void lease.finally(() => {
      if (bucket.lease === lease) bucket.lease = undefined;
    });
    return lease;
  }

  /** Adds leased points to the bucket, or blocks it until the window ends; rejects when the storage failed. */
  private async lease(accountId: string, bucket: Bucket): Promise<void> {
    const timeoutMs = this.options.storageTimeoutMs;
    // Fewer points near the limit, so that points one process leased and does not use keep
    // few requests of the other processes waiting.
    let wanted = Math.max(1, Math.min(this.leaseSize, Math.floor(bucket.sharedRemaining / 10)));
    if (!bucket.mainExhausted) {
      this.options.metrics.storageCalls.inc({ limiter: 'account' });
      const res = await consume(this.main, accountId, wanted, timeoutMs);
      const got = granted(this.options.perMinute, wanted, res);
      bucket.windowEndsAt = Date.now() + res.msBeforeNext;
      bucket.sharedRemaining = res.remainingPoints;
      bucket.tokens += got;
      if (got === wanted) return;
      bucket.mainExhausted = true;
      wanted -= got;
      if (got > 0) return; // serve those first; the burst is asked when they are gone
    }
    if (this.burst) {
      this.options.metrics.storageCalls.inc({ limiter: 'account' });
      const res = await consume(this.burst, accountId, wanted, timeoutMs);
      const got = granted(this.options.burst, wanted, res);
      bucket.tokens += got;
      if (got > 0) return;
    }
    bucket.blockedUntil = bucket.windowEndsAt;
  }

  private failedOpen(): RateDecision {
    return { allowed: true, retryAfterSeconds: 0, headers: { 'RateLimit-Policy': this.policyHeader } };
  }

  private decision(allowed: boolean, remaining: number, resetMs: number): RateDecision {
    return {
      allowed,
      retryAfterSeconds: allowed ? 0 : Math.max(1, seconds(resetMs)),
      headers: {
        'RateLimit-Policy': this.policyHeader,
        RateLimit: `${quoted(ACCOUNT_POLICY)};r=${remaining};t=${seconds(resetMs)}`,
      },
    };
  }
}

/**
 * The per-account limit as a middleware, after authentication (it reads ctx.state.accountId):
 * every answer carries RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers);
 * over the limit, 429 with Retry-After.
 */
export function rateLimit(limiter: AccountRateLimiter, metrics?: RateLimitMetrics): Middleware {
  return async (ctx, next) => {
    const { accountId } = ctx.state as Partial<AuthState>;
    if (accountId === undefined) throw new Error('rateLimit() must be mounted after authenticate()');
    const decision = await limiter.take(accountId);
    ctx.set(decision.headers);
    if (!decision.allowed) {
      metrics?.limited.inc({ limiter: 'account' });
      noteRefusal(ctx, 'account');
      throw new TooManyRequestsError('Rate limit exceeded for this account: try again later', decision.retryAfterSeconds);
    }
    await next();
  };
}

export interface AuthFailureLimitOptions extends StorageOptions {
  /** AUTH_FAILURES_PER_MINUTE per client address, across all API processes. */
  perMinute: number;
}

/**
 * Failed authentications per client address (shared by the API processes, one round trip per
 * failure; an address over its limit is refused locally until its window ends). Passed to
 * authenticate() as `failures`.
 */
export function createAuthFailureLimiter(options: AuthFailureLimitOptions): AuthFailureLimiter {
  const limiter = new RateLimiterPostgres({
    storeClient: options.pool,
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    clearExpiredByTimeout: false,
    keyPrefix: `${options.keyPrefix ?? 'rl'}:authfail`,
    points: options.perMinute,
    duration: WINDOW_SECONDS,
  });
  const policy = `${quoted(AUTH_FAILURE_POLICY)};q=${options.perMinute};w=${WINDOW_SECONDS}`;
  const blocked = new LRUCache<string, number>({ max: 100_000, ttl: WINDOW_SECONDS * 1000 });
  const failOpen = new FailOpen('auth_failures', options);
  const verdict = (limited: boolean, remaining: number, resetMs: number) => {
    if (limited) options.metrics.limited.inc({ limiter: 'auth_failures' });
    return {
      limited,
      retryAfterSeconds: Math.max(1, seconds(resetMs)),
      headers: { 'RateLimit-Policy': policy, RateLimit: `${quoted(AUTH_FAILURE_POLICY)};r=${remaining};t=${seconds(resetMs)}` },
    };
  };
  return {
    async fail(address) {
      const until = blocked.get(address);
      if (until !== undefined && until > Date.now()) return verdict(true, 0, until - Date.now());
      if (failOpen.active) return { limited: false, retryAfterSeconds: 0, headers: { 'RateLimit-Policy': policy } };
      try {
        options.metrics.storageCalls.inc({ limiter: 'auth_failures' });
        const res = await consume(limiter, address, 1, options.storageTimeoutMs);
        const limited = res.consumedPoints > options.perMinute;
        if (limited) blocked.set(address, Date.now() + res.msBeforeNext);
        return verdict(limited, res.remainingPoints, res.msBeforeNext);
      } catch (error) {
        failOpen.record(error);
        return { limited: false, retryAfterSeconds: 0, headers: { 'RateLimit-Policy': policy } };
      }
    },
  };
}
