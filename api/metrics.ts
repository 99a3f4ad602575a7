import Router from '@koa/router';
import { Counter, Histogram, Registry } from 'prom-client';
import { withProcessMetrics } from '../metrics/process-metrics.js';
import { EXACT_PATHS } from './routing.js';

/** Why a request answered 500: the dependency that failed, or something else. */
export type InternalErrorCause = 'database' | 'temporal' | 'unexpected';
export const INTERNAL_ERROR_CAUSES: readonly InternalErrorCause[] = ['database', 'temporal', 'unexpected'];

export interface ApiMetrics {
  /** What GET /metrics serves: these series and the process's (CPU, memory, event loop, GC). */
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
  ordersCreated: Counter;
  internalErrors: Counter<'cause'>;
  openOutcomes: Counter<'outcome'>;
}

/** A fresh set of the API's series, in a registry of their own (never prom-client's global one). */
export function createApiMetrics(): ApiMetrics {
  const own = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route (the path template) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [own],
  });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from a request arriving to its answer, by method, route (the path template) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    // POST /orders is bounded at about 13 s (docs/api.md, "Bounded time"); a cancel may wait 20 s.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
    registers: [own],
  });
  const ordersCreated = new Counter({
    name: 'orders_created_total',
    help: 'Orders accepted by POST /orders (201, replays of an Idempotency-Key not counted).',
    registers: [own],
  });
  const internalErrors = new Counter({
    name: 'http_internal_errors_total',
    help: 'Requests answered 500, by cause: database, temporal or unexpected.',
    labelNames: ['cause'] as const,
    registers: [own],
  });
  const openOutcomes = new Counter({
    name: 'orders_open_outcome_total',
    help: 'POST /orders answered 500 with neither start nor rejection confirmed (outcome=open), and how each was decided later (rejected, started).',
    labelNames: ['outcome'] as const,
    registers: [own],
  });
  // Every label present from the start, so a rate() over it works before the first event.
  for (const cause of INTERNAL_ERROR_CAUSES) internalErrors.inc({ cause }, 0);
  for (const outcome of ['open', 'rejected', 'started']) openOutcomes.inc({ outcome }, 0);
  return { registry: withProcessMetrics(own), requests, requestDuration, ordersCreated, internalErrors, openOutcomes };
}

/** GET /metrics: the series in Prometheus' text format (mount with publicRoutes, api/routing.ts). */
export function metricsRoutes(metrics: ApiMetrics): Router {
  const router = new Router(EXACT_PATHS);
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
