import { LRUCache } from 'lru-cache';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { AuthFailureLimiter } from './auth.js';
import { quoted, seconds } from './rate-limit-headers.js';
import { consume, FailOpen, RATE_LIMIT_TABLE, type StorageOptions, WINDOW_SECONDS } from './rate-limit-storage.js';

const AUTH_FAILURE_POLICY = 'auth-failures-per-address';

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
