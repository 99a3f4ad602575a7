import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { annotateLog, withLogContext } from '../config/log-context.js';
import type { Logger } from '../config/logger.js';
import { workflowIdFor } from '../domain/order.js';
import type { ApiMetrics } from './metrics.js';
import type { RefusalLog } from './refusal-log.js';
import { type RouteMatcher, routeLabel } from './route-label.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';

// An incoming id is kept only if it is a short token of safe characters (a UUID, a ULID, a
// balancer's trace id); anything else is replaced, so logs never carry what a client made up.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/** What the request middleware puts on ctx.state for the code after it. */
export interface RequestState {
  requestId: string;
  /** The logger for this request: each line carries reqId, and orderId / workflowId once known. */
  logger: Logger;
  /**
   * Why the request was refused, set by the middleware that refused it: the reason of a 401
   * (missing, malformed, unknown, revoked) or the limiter of a 429 (account, auth_failures).
   * In the request's line, and part of what makes refusals identical (api/refusal-log.ts).
   */
  refusal?: string;
}

/** Records on the request why it is refused (RequestState.refusal), before the refusal is thrown. */
export function noteRefusal(ctx: Context, reason: string): void {
  (ctx.state as Partial<RequestState>).refusal = reason;
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
  /** The route a request refused before routing was for (its label); without it such requests are 'unmatched'. */
  routes?: RouteMatcher;
  /** Aggregates the lines of floods of identical 401s and 429s; without it every request gets its line. */
  refusals?: RefusalLog;
}

/**
 * The outermost middleware: gives the request its id (the client's `X-Request-Id` if sane,
 * else a new UUID; echoed in the answer), runs it in a log context so every line logged during it
 * carries the id, writes one line per request (method, path, route, status, refusal reason,
 * duration; floods of identical 401s and 429s aggregated by `refusals`), and counts every request
 * in the metrics by route template and status.
 */
export function requestContext({ logger, metrics, draining, routes, refusals }: RequestContextOptions): Middleware {
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
        const route = routeLabel(ctx, routes);
        const labels = { method: ctx.method, route, status: String(ctx.status) };
        metrics.requests.inc(labels);
        metrics.requestDuration.observe(labels, seconds);
        if (ctx.method === 'POST' && route === '/orders' && ctx.status === 201 && ctx.response.get('Idempotent-Replayed') !== 'true') {
          metrics.ordersCreated.inc();
        }
        const { refusal } = ctx.state as Partial<RequestState>;
        const line = {
          method: ctx.method,
          path: ctx.path,
          route,
          status: ctx.status,
          ...(refusal === undefined ? {} : { reason: refusal }),
          durationMs: Math.round(seconds * 1e4) / 10,
        };
        const quiet = QUIET_ROUTES.has(route) && ctx.status < 500;
        // A flood of identical refusals: its first line at info, the others in a summary line.
        if (quiet || (refusals && !refusals.admit({ method: ctx.method, route, status: ctx.status, reason: refusal }))) {
          logger.debug(line, 'request');
        } else logger.info(line, 'request');
      }
    });
  };
}
