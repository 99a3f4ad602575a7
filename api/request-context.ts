import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { annotateLog, withLogContext } from '../config/log-context.js';
import type { Logger } from '../config/logger.js';
import { workflowIdFor } from '../domain/order.js';
import type { ApiMetrics } from './metrics.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';

// An incoming id is kept only if it is a short token of safe characters (a UUID, a ULID, a
// balancer's trace id); anything else is replaced, so logs never carry what a client made up.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/** What the request middleware puts on ctx.state for the code after it. */
export interface RequestState {
  requestId: string;
  /** The logger for this request: each line carries reqId, and orderId / workflowId once known. */
  logger: Logger;
}

// The fixed paths (health, metrics, docs): their label is the path itself, the docs' files share
// one; any other path no route has is 'unmatched', so scans of random URLs cannot blow up the
// number of series.
const FIXED_ROUTES = new Set(['/health/live', '/health/ready', '/metrics', '/openapi.json', '/docs']);

/** The route label: the router's path template (`/orders/:id`), never the raw URL. */
export function routeLabel(ctx: Context): string {
  if (FIXED_ROUTES.has(ctx.path)) return ctx.path;
  if (ctx.path.startsWith('/docs/')) return '/docs/*';
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  return 'unmatched';
}

// Probes and scrapes (every few seconds, from every balancer, orchestrator and Prometheus) and
// the docs page's assets would drown the lines about orders: they are logged at debug, unless they failed.
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics', '/docs', '/docs/*', '/openapi.json']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RequestContextOptions {
  logger: Logger;
  metrics: ApiMetrics;
  /** True once the API is shutting down: answers then ask the client to close the connection. */
  draining: () => boolean;
}

/**
 * The outermost middleware: gives the request its id (the client's `X-Request-Id` if sane,
 * else a new UUID; echoed in the answer), runs it in a log context so every line logged during it
 * carries the id, writes one line per request (method, path, route, status, duration), and counts
 * it in the metrics by route template and status.
 */
export function requestContext({ logger, metrics, draining }: RequestContextOptions): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const incoming = ctx.get(REQUEST_ID_HEADER);
    const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.set(REQUEST_ID_HEADER, requestId);
    const state: RequestState = { requestId, logger };
    Object.assign(ctx.state, state);

    await withLogContext({ reqId: requestId }, async () => {
      try {
        await next();
      } finally {
        const id = (ctx.params as Record<string, string> | undefined)?.id;
        if (id !== undefined && UUID.test(id)) annotateLog({ orderId: id.toLowerCase(), workflowId: workflowIdFor(id.toLowerCase()) });
        // During shutdown no connection is kept for another request: each closes after its answer.
        if (draining()) ctx.set('Connection', 'close');
        const seconds = (performance.now() - started) / 1000;
        const route = routeLabel(ctx);
        const labels = { method: ctx.method, route, status: String(ctx.status) };
        metrics.requests.inc(labels);
        metrics.requestDuration.observe(labels, seconds);
        if (ctx.method === 'POST' && route === '/orders' && ctx.status === 201 && ctx.response.get('Idempotent-Replayed') !== 'true') {
          metrics.ordersCreated.inc();
        }
        const line = { method: ctx.method, path: ctx.path, route, status: ctx.status, durationMs: Math.round(seconds * 1e4) / 10 };
        if (QUIET_ROUTES.has(route) && ctx.status < 500) logger.debug(line, 'request');
        else logger.info(line, 'request');
      }
    });
  };
}
