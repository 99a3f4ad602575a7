import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, envBoolean, envDatabaseUrl, envLogLevel, envPort, parseEnv, presentEnv } from './env.js';

export { ConfigError };

/** Defaults of the HTTP_*_TIMEOUT_MS settings, also used by apps built without a configuration (tests with fakes). */
export const HTTP_TIMEOUT_DEFAULTS = { headersMs: 5_000, bodyIdleMs: 5_000, requestMs: 10_000 } as const;

/** REFUSAL_LOG_INTERVAL_MS's default, also used by apps built without a configuration (tests with fakes). */
export const REFUSAL_LOG_INTERVAL_DEFAULT_MS = 10_000;

function isOrigin(text: string): boolean {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
}

/**
 * Every setting the service reads, validated once at start. A bad value stops the process with
 * a message naming the variable; nothing else reads process.env.
 */
const envSchema = z.object({
  PORT: envPort.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  // The API's management port (GET /metrics, and the health routes again): off the public port, so
  // a balancer that routes PORT never exposes the metrics. Loopback by default; a scraper in
  // another container needs MANAGEMENT_HOST=0.0.0.0 (and the port left unpublished).
  MANAGEMENT_PORT: envPort.default(9463),
  MANAGEMENT_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: envDatabaseUrl,
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).default(1000),
  DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(1).default(2000),
  // Connections the API keeps open for the compensating rejection alone, so that a burst whose
  // inserts exhaust the main pool cannot keep a failed start from being fenced.
  DB_FENCE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('orders'),
  // One POST /orders: its insert and its workflow start together, waiting for its turn included
  // (docs/api.md, "Bounded time"). The compensation of a failed start runs after it, on its own bound.
  // 10 s: a burst of 500 POSTs on two cores is served at Temporal's pace (docs/benchmarks.md, the spike).
  ORDER_BUDGET_MS: z.coerce.number().int().min(100).default(10000),
  // Workflow starts in flight at once per API process; more wait their turn within their budget.
  TEMPORAL_START_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  // Any other call to Temporal (connecting, a cancel's signal, asking whether a workflow exists).
  TEMPORAL_RPC_TIMEOUT_MS: z.coerce.number().int().min(1).default(2000),
  // DELETE /orders/:id waits this long for the workflow's decision, then answers 202 (decision pending).
  CANCEL_BUDGET_MS: z.coerce.number().int().min(1).default(5000),
  // The venue process's order entry (exchange/main.ts), host:port.
  VENUE_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/, 'must be host:port, e.g. localhost:7300')
    .default('localhost:7300'),
  // A venue request unanswered this long fails as OrderPlacementError (the workflow retries it).
  VENUE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  // Set on a worker: its connection's failure rate and latency at the venue instead of the
  // venue's own EXCHANGE_FAILURE_RATE / EXCHANGE_LATENCY_MS (a test hook; unset in production).
  EXCHANGE_FAILURE_RATE: z.coerce.number().min(0).max(1).optional(),
  EXCHANGE_LATENCY_MS: z.coerce.number().int().min(0).optional(),
  // Set on a worker: the venue fails the first placement of each of its orders, so that every
  // order costs one retry (a test and bench hook, as above; unset in production).
  EXCHANGE_FIRST_ATTEMPT_FAILS: envBoolean.optional(),
  STALE_ORDER_AFTER_MS: z.coerce.number().int().min(1000).default(60_000),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().min(24).default(24),
  // Slow clients (docs/api.md, "Bounded time"): the request's headers must have arrived this long after
  // the connection opened (or the previous answer), its body may pause at most
  // HTTP_BODY_IDLE_TIMEOUT_MS between two reads, and the whole request must have arrived within
  // HTTP_REQUEST_TIMEOUT_MS; otherwise 408 and the connection is closed.
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1).default(HTTP_TIMEOUT_DEFAULTS.headersMs),
  HTTP_BODY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1).default(HTTP_TIMEOUT_DEFAULTS.bodyIdleMs),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(HTTP_TIMEOUT_DEFAULTS.requestMs),
  // The HMAC-SHA256 key of GET /orders' cursors, the same for every API process. Unset: a fixed
  // public key, so anyone can forge a cursor (harmless, every field is checked, but set it in production).
  CURSOR_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // Origins (scheme://host[:port], comma-separated) whose browser pages may call the API; unset: none (CORS off).
  CORS_ALLOWED_ORIGINS: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin !== ''),
    )
    .pipe(z.array(z.string().refine(isOrigin, 'each entry must be an origin: scheme://host[:port], no path')))
    .default([]),
  // GET /events (api/event-stream.ts): streams one API process serves at once (503 beyond), how
  // often its one poller reads the order stream, how many recent events it keeps for clients that
  // reconnect (older Last-Event-IDs are caught up from the database), the unsent bytes after
  // which a client that does not keep up is cut (it reconnects with Last-Event-ID), and the
  // interval of the heartbeat comments that keep idle streams open through proxies.
  SSE_MAX_CLIENTS: z.coerce.number().int().min(1).max(100_000).default(2000),
  SSE_POLL_INTERVAL_MS: z.coerce.number().int().min(5).max(10_000).default(50),
  SSE_RING_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  SSE_CLIENT_BUFFER_BYTES: z.coerce
    .number()
    .int()
    .min(65_536)
    .default(4 * 1024 * 1024),
  SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15_000),
  // Test hooks for fault-injection tests with real processes; unset in any real deployment.
  EXCHANGE_TEST_CRASH_AFTER_ACCEPTS: z.coerce.number().int().min(1).optional(),
  API_TEST_CRASH_AT: z.enum(['afterInsert', 'afterStart', 'beforeAnswer']).optional(),
  LOG_LEVEL: envLogLevel,
  // The API's request lines of 401s and 429s (api/refusal-log.ts): the first of each kind (status,
  // method, route, reason) at once, then one summary line per kind this often with the count of
  // the others (each of those at debug); every request is counted in the metrics regardless.
  REFUSAL_LOG_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(REFUSAL_LOG_INTERVAL_DEFAULT_MS),
  // Readiness (GET /health/ready): the most each dependency check may take before it counts as failed.
  READINESS_TIMEOUT_MS: z.coerce.number().int().min(1).default(1000),
  // API shutdown (SIGTERM): readiness answers 503 at once; the listener stays open this long more
  // (for a balancer to notice), then closes; in-flight requests get up to SHUTDOWN_TIMEOUT_MS.
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).default(0),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1).default(20_000),
  // Worker shutdown (SIGTERM): running activities get this long to finish before they are cancelled.
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(15_000),
  // Workflow tasks a worker runs at once (the SDK's maxConcurrentWorkflowTaskExecutions). A healthy
  // order's first task holds its slot while the exchange call runs in it (a local activity), so
  // slots ÷ the exchange's latency bounds the placements per second of one worker.
  WORKER_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(2).max(10_000).default(100),
  // The worker's own Prometheus metrics (and /health/live) on this port; unset: no such server.
  WORKER_METRICS_PORT: envPort.optional(),
  // The Temporal SDK's own Prometheus exporter (host:port); unset: the SDK exports no metrics.
  TEMPORAL_METRICS_BIND_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9465')
    .optional(),
  // A workflow bundle prebuilt by scripts/bundle-workflows.ts; unset: workflows are bundled at start.
  WORKFLOW_BUNDLE_PATH: z.string().min(1).refine(existsSync, 'no such file').optional(),
  // Requests must carry `Authorization: Bearer <api_key>` (api/auth.ts). `false` (the local demo of
  // `npm start` only): a request without the header acts as the demo account; a bad key is still 401.
  AUTH_REQUIRED: envBoolean.default(true),
  // How long an API process trusts what it looked up about a key, found or not: the bound on how
  // long a revoked key still works there (api/auth.ts).
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(5000),
  // Per account, across all API processes (api/account-rate-limiter.ts): requests a minute, and the extra
  // requests a burst may take beyond that (per 10 minutes). Failed authentications per client address a minute.
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(200),
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(50),
  // With AUTH_REQUIRED=false (the local demo): whether requests without a key, the demo account's,
  // are rate limited too. Off: only requests with a key are. No effect with AUTH_REQUIRED=true,
  // where a request without a key is refused.
  RATE_LIMIT_KEYLESS: envBoolean.default(false),
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(100),
  // A call to the limiter's storage slower than this counts as failed: the request goes on unlimited.
  RATE_LIMIT_STORAGE_TIMEOUT_MS: z.coerce.number().int().min(1).default(500),
  // Connections of the limiter's own pool: it is on every request's path, so it never waits behind orders' inserts.
  RATE_LIMIT_POOL_SIZE: z.coerce.number().int().min(1).default(4),
  // Where the limiter's counters live: a PostgreSQL of their own if a deployment wants one; unset: DATABASE_URL.
  RATE_LIMIT_DATABASE_URL: z.string().min(1).optional(),
});

export type Config = z.infer<typeof envSchema>;

// Room for clock differences between API hosts and the database, whose clock dates the orders.
const STALE_ORDER_MARGIN_MS = 5000;

// Node refuses a headers timeout longer than the request timeout (the headers are part of the request).
const configSchema = envSchema
  .refine((config) => config.HTTP_HEADERS_TIMEOUT_MS <= config.HTTP_REQUEST_TIMEOUT_MS, {
    path: ['HTTP_HEADERS_TIMEOUT_MS'],
    message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS',
  })
  // The sweep must never reject an order whose request may still get its workflow's start
  // acknowledged: that request would answer 201 for an order no workflow can claim.
  .refine((config) => config.STALE_ORDER_AFTER_MS >= config.ORDER_BUDGET_MS + STALE_ORDER_MARGIN_MS, {
    path: ['STALE_ORDER_AFTER_MS'],
    message: `must be at least ORDER_BUDGET_MS + ${STALE_ORDER_MARGIN_MS} ms`,
  });

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseEnv(configSchema, presentEnv(env), 'configuration', (message) => new ConfigError(message));
}
