import { Writable } from 'node:stream';
import getPort from 'get-port';
import type { Middleware } from 'koa';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AccountLimitOptions, AccountRateLimiter } from '../../api/account-rate-limiter.js';
import { authenticate } from '../../api/auth.js';
import { createAuthFailureLimiter } from '../../api/auth-failure-limiter.js';
import { createRateLimitMetrics } from '../../api/rate-limit-metrics.js';
import { rateLimit } from '../../api/rate-limit-middleware.js';
import type { ApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { AccountsRepository } from '../../prisma/accounts-repository.js';
import { createPrismaClient, type PrismaClient } from '../../prisma/client.js';
import { postJson } from '../support/http.js';
import { bearer } from '../support/keys.js';
import { metricValue, scrape } from '../support/metrics.js';
import { startMiddlewareApp } from '../support/middleware-app.js';
import { marketOrder, uniqueInstrument } from '../support/orders.js';
import { apiStarter } from '../support/stack.js';

const databaseUrl = inject('databaseUrl');
const quiet = createLogger('test', 'silent');
let pool: pg.Pool;
let db: PrismaClient;

// Generous: the suite runs on busy machines, where a query can take seconds; a timeout here would fail open.
const STORAGE_TIMEOUT_MS = 20_000;
const unique = () => `t-${Math.random().toString(36).slice(2, 10)}`;

/** Stands in for authenticate(): the account is whatever the request says. */
const accountFromHeader: Middleware = (ctx, next) => {
  ctx.state.accountId = ctx.get('X-Account');
  return next();
};

/** One "API process": its own limiter (own leases, own cache) over the shared table, on a tiny app. */
async function apiProcess(options: Partial<AccountLimitOptions> & { perMinute: number; burst: number; keyPrefix: string }) {
  const registry = new Registry();
  const metrics = createRateLimitMetrics(registry);
  const limiter = new AccountRateLimiter({ pool, logger: quiet, metrics, storageTimeoutMs: STORAGE_TIMEOUT_MS, ...options });
  const app = await startMiddlewareApp([accountFromHeader, rateLimit(limiter, metrics)]);
  return { app, metrics, limiter };
}

async function counter(metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, limiter: string) {
  return (await metric.get()).values.find((v) => v.labels.limiter === limiter)?.value ?? 0;
}

beforeAll(() => {
  pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  db = createPrismaClient({ url: databaseUrl, poolSize: 2, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
});

afterAll(async () => {
  await pool.end();
  await db.$disconnect();
});

describe('the per-account rate limit', () => {
  it('is shared by two API processes: the account gets its limit in total, not twice; 429 carries Retry-After and the RateLimit headers', async () => {
    const keyPrefix = unique();
    const a = await apiProcess({ perMinute: 30, burst: 0, keyPrefix });
    const b = await apiProcess({ perMinute: 30, burst: 0, keyPrefix });
    const account = unique();
    try {
      let allowed = 0;
      let refusedRounds = 0;
      const refusals: Response[] = [];
      for (let round = 0; round < 100 && refusedRounds < 2; round++) {
        const answers = await Promise.all([a, b].map(({ app }) => fetch(`${app.url}/whoami`, { headers: { 'X-Account': account } })));
        for (const answer of answers) {
          expect(answer.headers.get('ratelimit-policy')).toBe('"per-account";q=30;w=60');
          expect(answer.headers.get('ratelimit')).toMatch(/^"per-account";r=\d+;t=\d+$/);
          if (answer.status === 200) allowed += 1;
          else refusals.push(answer);
        }
        refusedRounds = answers.every((answer) => answer.status === 429) ? refusedRounds + 1 : 0;
      }
      expect(allowed).toBe(30);
      const refusal = refusals.at(-1)!;
      expect(refusal.status).toBe(429);
      const retryAfter = Number(refusal.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refusal.headers.get('ratelimit')).toMatch(/^"per-account";r=0;t=\d+$/);
      expect(await refusal.json()).toEqual({ message: expect.stringMatching(/Rate limit exceeded/) });
      expect((await counter(a.metrics.limited, 'account')) + (await counter(b.metrics.limited, 'account'))).toBe(refusals.length);

      // Another account has a limit of its own.
      expect((await fetch(`${a.app.url}/whoami`, { headers: { 'X-Account': unique() } })).status).toBe(200);
    } finally {
      await a.app.close();
      await b.app.close();
    }
  });

  it('serves leased points locally: a few round trips for many requests', async () => {
    let queries = 0;
    const counted = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const query = counted.query.bind(counted) as (...args: unknown[]) => unknown;
    (counted as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      queries += 1;
      return query(...args);
    };
    const registry = new Registry();
    const metrics = createRateLimitMetrics(registry);
    const limiter = new AccountRateLimiter({
      pool: counted,
      logger: quiet,
      metrics,
      storageTimeoutMs: STORAGE_TIMEOUT_MS,
      perMinute: 1000,
      burst: 0,
      keyPrefix: unique(),
    });
    try {
      const account = unique();
      for (let i = 0; i < 50; i++) expect((await limiter.take(account)).allowed).toBe(true);
      expect(queries).toBe(5); // leases of 10
      // Concurrent requests share a lease in flight instead of each asking the storage.
      const concurrent = await Promise.all(Array.from({ length: 40 }, () => limiter.take(`${account}-2`)));
      expect(concurrent.every((decision) => decision.allowed)).toBe(true);
      expect(queries).toBe(5 + 4);
    } finally {
      await counted.end();
    }
  });

  it('lets a burst take its extra requests once the per-minute ones are gone', async () => {
    const p = await apiProcess({ perMinute: 5, burst: 3, keyPrefix: unique() });
    const account = unique();
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 10; i++) {
        last = await fetch(`${p.app.url}/whoami`, { headers: { 'X-Account': account } });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
      expect(last!.headers.get('ratelimit-policy')).toBe('"per-account";q=5;w=60, "per-account-burst";q=3;w=600');
    } finally {
      await p.app.close();
    }
  });

  it('fails open when its storage is down: requests go through, the failure is logged and counted', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      'test',
      'warn',
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    // Storage at a closed port, and storage whose pool was stopped under it.
    const closed = new pg.Pool({ connectionString: `postgresql://postgres:postgres@127.0.0.1:${await getPort()}/orders`, max: 1 });
    const stopped = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      for (const storage of [closed, stopped]) {
        const registry = new Registry();
        const metrics = createRateLimitMetrics(registry);
        const limiter = new AccountRateLimiter({
          pool: storage,
          logger,
          metrics,
          storageTimeoutMs: STORAGE_TIMEOUT_MS,
          perMinute: 2,
          burst: 0,
          failOpenMs: 0,
          keyPrefix: unique(),
        });
        const app = await startMiddlewareApp([accountFromHeader, rateLimit(limiter, metrics)]);
        try {
          const account = unique();
          if (storage === stopped) {
            expect((await fetch(`${app.url}/whoami`, { headers: { 'X-Account': account } })).status).toBe(200);
            await stopped.end();
          }
          for (let i = 0; i < 5; i++) {
            const answer = await fetch(`${app.url}/whoami`, { headers: { 'X-Account': account } });
            expect(answer.status).toBe(200);
            expect(answer.headers.get('ratelimit-policy')).toBe('"per-account";q=2;w=60');
          }
          expect(await counter(metrics.failures, 'account')).toBeGreaterThanOrEqual(4);
        } finally {
          await app.close();
        }
      }
      expect(lines.some((line) => /rate limiter storage failed/.test(line))).toBe(true);
    } finally {
      await closed.end();
    }
  });
});

describe('the limit of failed authentications per client address', () => {
  it('answers 429 once an address failed too often; a valid key from it still works', async () => {
    const registry = new Registry();
    const metrics = createRateLimitMetrics(registry);
    const failures = createAuthFailureLimiter({
      pool,
      logger: quiet,
      metrics,
      storageTimeoutMs: STORAGE_TIMEOUT_MS,
      perMinute: 3,
      keyPrefix: unique(),
    });
    const repository = new AccountsRepository(db);
    const key = await repository.createKey(unique());
    const app = await startMiddlewareApp([authenticate({ keys: repository, required: true, cacheTtlMs: 5000, logger: quiet, failures })]);
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 5; i++) {
        last = await fetch(`${app.url}/whoami`, { headers: { Authorization: 'Bearer wrong' } });
        statuses.push(last.status);
        if (last.status === 401) expect(last.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(last!.headers.get('ratelimit-policy')).toBe('"auth-failures-per-address";q=3;w=60');
      expect(last!.headers.get('ratelimit')).toMatch(/^"auth-failures-per-address";r=0;t=\d+$/);
      expect((await fetch(`${app.url}/whoami`, { headers: { Authorization: `Bearer ${key.apiKey}` } })).status).toBe(200);
      expect(await counter(metrics.limited, 'auth_failures')).toBe(2);
    } finally {
      await app.close();
    }
  });
});

describe('the API in the local demo (AUTH_REQUIRED=false)', () => {
  const closes: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closes) await close();
  });
  const startApi = apiStarter((close) => closes.push(close), {
    AUTH_REQUIRED: 'false',
    RATE_LIMIT_PER_MINUTE: '3',
    RATE_LIMIT_BURST: '1',
  });
  const post = (api: ApiServer, headers: Record<string, string> = {}) =>
    postJson(`${api.url}/orders`, marketOrder(uniqueInstrument('RL')), headers);

  it('never limits requests without a key, far beyond the limit and its burst; a real key in the same API is still limited, its 429 labelled by its route', {
    timeout: 120_000,
  }, async () => {
    const api = await startApi();
    // RATE_LIMIT_KEYLESS unset: its default. 30 at once against a limit of 3 + 1.
    const keyless = await Promise.all(Array.from({ length: 30 }, () => post(api)));
    expect(keyless.map((answer) => answer.status)).toEqual(Array(30).fill(201));
    expect(keyless.every((answer) => answer.headers.get('ratelimit-policy') === null)).toBe(true);

    const key = await new AccountsRepository(db).createKey(unique());
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await post(api, bearer(key.apiKey));
      expect(answer.headers.get('ratelimit-policy')).toBe('"per-account";q=3;w=60, "per-account-burst";q=1;w=600');
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429]);
    // Still none for the requests without a key, after the key's account is over its limit.
    expect((await post(api)).status).toBe(201);

    const samples = await scrape(`${api.managementUrl}/metrics`);
    expect(metricValue(samples, 'rate_limited_requests_total', { limiter: 'account' })).toBe(2);
    expect(metricValue(samples, 'http_requests_total', { method: 'POST', route: '/orders', status: '429' })).toBe(2);
    expect(metricValue(samples, 'http_requests_total', { route: 'unmatched' })).toBe(0);
    expect(metricValue(samples, 'http_requests_total', { method: 'POST', route: '/orders', status: '201' })).toBe(35);
  });

  it('limits requests without a key as the demo account with RATE_LIMIT_KEYLESS=true', { timeout: 120_000 }, async () => {
    const api = await startApi({ RATE_LIMIT_KEYLESS: 'true', RATE_LIMIT_BURST: '0' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const answer = await post(api);
      expect(answer.headers.get('ratelimit-policy')).toBe('"per-account";q=3;w=60');
      statuses.push(answer.status);
    }
    // The demo account's counter is shared by every API on this database (another run of this
    // test within the minute may have used some of it): at most its 3, then only 429.
    const allowed = statuses.filter((status) => status === 201).length;
    expect(allowed).toBeLessThanOrEqual(3);
    expect(statuses).toEqual([...Array(allowed).fill(201), ...Array(8 - allowed).fill(429)]);
  });
});
