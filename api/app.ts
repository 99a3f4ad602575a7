import Koa from 'koa';
import type { Logger } from '../config/logger.js';
import { apiDocs } from './docs.js';
import { errorResponder } from './errors.js';
import { type ReadinessProbe, readinessRoute } from './health.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { type OrdersRouteDeps, ordersRouter } from './orders-routes.js';
import { requestContext } from './request-context.js';

export type AppDeps = OrdersRouteDeps & {
  logger: Logger;
  /** The series GET /metrics serves; a fresh set when not given. */
  metrics?: ApiMetrics;
  /** GET /health/ready; without it the route does not exist (apps built with fakes in tests). */
  readiness?: ReadinessProbe;
};

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by errorResponder, once
  const metrics = deps.metrics ?? createApiMetrics();
  const readiness = deps.readiness;
  const router = ordersRouter(deps);
  app.use(requestContext({ logger: deps.logger, metrics, draining: () => readiness?.draining ?? false }));
  app.use(errorResponder(deps.logger, (cause) => metrics.internalErrors.inc({ cause })));
  app.use(async (ctx, next) => {
    // Liveness only: the process answers. Readiness (dependencies reachable) is /health/ready.
    if (ctx.method === 'GET' && ctx.path === '/health/live') ctx.body = { status: 'ok' };
    else if (ctx.method === 'GET' && ctx.path === '/metrics') {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
    } else await next();
  });
  if (readiness) app.use(readinessRoute(readiness));
  app.use(apiDocs()); // GET /openapi.json, /docs
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
