import { existsSync } from 'node:fs';
import { z } from 'zod';

/**
 * Every setting the service reads, validated once at start. A bad value stops the process with
 * a message naming the variable; nothing else reads process.env.
 */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL'),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).default(1000),
  DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(1).default(2000),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('orders'),
  TEMPORAL_START_TIMEOUT_MS: z.coerce.number().int().min(1).default(2000),
  // A cancel may wait for an exchange call in flight (up to its 10 s timeout) before it is decided.
  TEMPORAL_CANCEL_TIMEOUT_MS: z.coerce.number().int().min(1).default(20_000),
  EXCHANGE_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.1),
  EXCHANGE_LATENCY_MS: z.coerce.number().int().min(0).default(500),
  STALE_ORDER_AFTER_MS: z.coerce.number().int().min(1000).default(60_000),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().min(24).default(24),
  // Test hooks for fault-injection tests with real processes; unset in any real deployment.
  EXCHANGE_TEST_CRASH_AFTER_ACCEPTS: z.coerce.number().int().min(1).optional(),
  API_TEST_CRASH_AT: z.enum(['afterInsert', 'afterStart', 'beforeAnswer']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Readiness (GET /health/ready): the most each dependency check may take before it counts as failed.
  READINESS_TIMEOUT_MS: z.coerce.number().int().min(1).default(1000),
  // API shutdown (SIGTERM): readiness answers 503 at once; the listener stays open this long more
  // (for a balancer to notice), then closes; in-flight requests get up to SHUTDOWN_TIMEOUT_MS.
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).default(0),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1).default(20_000),
  // Worker shutdown (SIGTERM): running activities get this long to finish before they are cancelled.
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(15_000),
  // The worker's own Prometheus metrics (and /health/live) on this port; unset: no such server.
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // The Temporal SDK's own Prometheus exporter (host:port); unset: the SDK exports no metrics.
  TEMPORAL_METRICS_BIND_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9465')
    .optional(),
  // A workflow bundle prebuilt by scripts/bundle-workflows.ts; unset: workflows are bundled at start.
  WORKFLOW_BUNDLE_PATH: z.string().min(1).refine(existsSync, 'no such file').optional(),
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as they do for most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return parsed.data;
}
