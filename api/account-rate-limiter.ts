import { LRUCache } from 'lru-cache';
import { RateLimiterPostgres, type RateLimiterRes } from 'rate-limiter-flexible';
import { quoted, seconds } from './rate-limit-headers.js';
import { consume, FailOpen, RATE_LIMIT_TABLE, type StorageOptions, WINDOW_SECONDS } from './rate-limit-storage.js';

/** A burst's extra requests are counted over this window, ten of the per-minute windows. */
export const BURST_WINDOW_SECONDS = 600;
const ACCOUNT_POLICY = 'per-account';
const BURST_POLICY = 'per-account-burst';

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

/** How many of `asked` points the shared counter granted: all, or what was left before this call went over. */
function granted(limit: number, asked: number, res: RateLimiterRes): number {
  return Math.max(0, Math.min(asked, limit - (res.consumedPoints - asked)));
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
