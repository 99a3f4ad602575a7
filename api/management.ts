import Koa from 'koa';
import { healthRoutes, type ReadinessProbe } from './health.js';
import { type ApiMetrics, metricsRoutes } from './metrics.js';
import { publicRoutes, unknownMethodNotAllowed } from './routing.js';

/**
 * The API's management port (MANAGEMENT_PORT): GET /metrics, which the public port does not
 * serve (per-route counts and process internals are for the operator), and the health routes
 * again for a scraper or an orchestrator that only reaches this port. Another method on those
 * paths: 405 with `Allow` (OPTIONS: 200 with `Allow`); anything else: 404.
 */
export function createManagementApp(metrics: ApiMetrics, readiness: ReadinessProbe): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(unknownMethodNotAllowed());
  app.use(publicRoutes(healthRoutes(readiness, { detail: true }), metricsRoutes(metrics)));
  return app;
}
