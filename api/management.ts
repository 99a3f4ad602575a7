import Koa from 'koa';
import { livenessRoute, type ReadinessProbe, readinessRoute } from './health.js';
import { type ApiMetrics, metricsRoute } from './metrics.js';

/**
 * The API's management port (MANAGEMENT_PORT): GET /metrics, which the public port does not
 * serve (per-route counts and process internals are for the operator), and the health routes
 * again for a scraper or an orchestrator that only reaches this port. Anything else: 404.
 */
export function createManagementApp(metrics: ApiMetrics, readiness: ReadinessProbe): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  app.use(livenessRoute());
  app.use(readinessRoute(readiness, { detail: true }));
  app.use(metricsRoute(metrics));
  return app;
}
