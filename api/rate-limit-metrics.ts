import { Counter, type Registry } from 'prom-client';

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
