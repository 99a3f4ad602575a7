import cors from '@koa/cors';
import Koa, { type Middleware } from 'koa';
import { type Config, HTTP_TIMEOUT_DEFAULTS, REFUSAL_LOG_INTERVAL_DEFAULT_MS } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { docsRoutes } from './docs.js';
import { errorResponder } from './error-responder.js';
import type { EventHub } from './event-stream.js';
import { eventsRouter } from './events-routes.js';
import { createExecutionCursorCodec } from './execution-cursor.js';
import { healthRoutes, type ReadinessProbe } from './health.js';
import { bodyReadSettings } from './json-body.js';
import { type CursorCodec, createCursorCodec } from './list-cursor.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { orderIdOnOptions } from './order-id.js';
import { type OrdersRouteDeps, ordersRouter } from './orders-routes.js';
import { type PositionsRouteDeps, positionsRouter } from './positions-routes.js';
import { createRefusalLog, type RefusalLog } from './refusal-log.js';
import { requestContext } from './request-context.js';
import { routeMatcher } from './route-label.js';
import { publicRoutes, unknownMethodNotAllowed } from './routing.js';

/** The settings of config/config.ts the app itself reads. */
export type AppSettings = Partial<Pick<Config, 'CURSOR_SECRET' | 'CORS_ALLOWED_ORIGINS' | 'HTTP_BODY_IDLE_TIMEOUT_MS'>>;

export type AppDeps = OrdersRouteDeps & {
  logger: Logger;
  /** The series the request context counts into (served on the management port); a fresh set when not given. */
  metrics?: ApiMetrics;
  /** Aggregates the request lines of floods of 401s and 429s (closed by the server at shutdown); one of the app's own when not given. */
  refusals?: RefusalLog;
  /**
   * Authentication, then the per-account rate limit (api/auth.ts, api/account-rate-limiter.ts): run before
   * every route that reads or writes orders, not before health or docs. Without it (apps built
   * with fakes in tests) every request acts as the demo account.
   */
  access?: Middleware[];
  /** GET /health/ready; without it the route does not exist (apps built with fakes in tests). */
  readiness?: ReadinessProbe;
  /** GET /events' stream; without it the route does not exist (apps built with fakes in tests). */
  events?: EventHub;
  /** GET /positions' store; without it the routes do not exist (apps built with fakes in tests). */
  positions?: PositionsRouteDeps['positions'];
  /** Without it (apps built with fakes in tests): the defaults, CORS off, cursors signed with the public key. */
  settings?: AppSettings;
};

/** The methods a preflight may allow, and the request and answer headers a page may use. */
const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'];
const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'Last-Event-ID'];
const CORS_EXPOSED_HEADERS = ['X-Request-Id', 'Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate'];
const CORS_MAX_AGE_SECONDS = 600;

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by errorResponder, once
  const metrics = deps.metrics ?? createApiMetrics();
  const readiness = deps.readiness;
  const settings = deps.settings ?? {};
  if (deps.settings && settings.CURSOR_SECRET === undefined) {
    deps.logger.warn('CURSOR_SECRET is unset: GET /orders cursors are signed with a public key; set it in production');
  }
  // listOrdersRoute takes the codec from the deps the router passes it.
  const routeDeps: OrdersRouteDeps & { cursors: CursorCodec } = {
    ...deps,
    cursors: createCursorCodec(settings.CURSOR_SECRET),
    executionCursors: createExecutionCursorCodec(settings.CURSOR_SECRET),
  };
  const router = ordersRouter(routeDeps);
  const events = deps.events ? eventsRouter({ events: deps.events }) : undefined;
  const positions = deps.positions ? positionsRouter({ positions: deps.positions }) : undefined;
  const routers = [router, ...(positions ? [positions] : []), ...(events ? [events] : [])];
  app.use(
    requestContext({
      logger: deps.logger,
      metrics,
      draining: () => readiness?.draining ?? false,
      // A 401 or 429 is answered before routing: labelled by the route the request was for.
      routes: routeMatcher(routers),
      refusals: deps.refusals ?? createRefusalLog({ logger: deps.logger, intervalMs: REFUSAL_LOG_INTERVAL_DEFAULT_MS }),
    }),
  );
  app.use(responseHeaders());
  const origins = settings.CORS_ALLOWED_ORIGINS ?? [];
  if (origins.length > 0) app.use(corsFor(origins));
  app.use(errorResponder(deps.logger, (cause) => metrics.internalErrors.inc({ cause })));
  app.use(bodyReadSettings(settings.HTTP_BODY_IDLE_TIMEOUT_MS ?? HTTP_TIMEOUT_DEFAULTS.bodyIdleMs));
  app.use(unknownMethodNotAllowed());
  // GET /health/live, /health/ready, /openapi.json, /docs: no key, and their other methods answered here.
  app.use(publicRoutes(healthRoutes(readiness), docsRoutes()));
  // OPTIONS only answers which methods a path takes (no order data): it needs no key.
  for (const guard of deps.access ?? []) app.use((ctx, next) => (ctx.method === 'OPTIONS' ? next() : guard(ctx, next)));
  app.use(orderIdOnOptions(router));
  for (const mounted of routers) {
    app.use(mounted.routes());
    app.use(mounted.allowedMethods());
  }
  return app;
}

/**
 * On every answer: no content sniffing, and no caching (order data changes and is per-client);
 * the docs' assets set their own Cache-Control (api/docs.ts). Set before the rest runs, so error
 * answers carry them too.
 */
function responseHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
}

/**
 * CORS for the allowed origins only: their pages may call the API (a preflight answers 204);
 * any other origin gets no CORS header, so its browser keeps the answer from the page.
 * No credentials: the API has no cookies.
 */
function corsFor(origins: readonly string[]): Middleware {
  const allowed = new Set(origins);
  return cors({
    origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    allowMethods: CORS_METHODS,
    allowHeaders: CORS_REQUEST_HEADERS,
    exposeHeaders: CORS_EXPOSED_HEADERS,
    maxAge: CORS_MAX_AGE_SECONDS,
  });
}
