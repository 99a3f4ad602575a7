import Koa from 'koa';
import type { Logger } from '../config/logger.js';
import { apiDocs } from './docs.js';
import { errorResponder } from './errors.js';
import { ordersRouter, type OrdersRouteDeps } from './orders-routes.js';

export type AppDeps = OrdersRouteDeps & { logger: Logger };

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by errorResponder, once
  const router = ordersRouter(deps);
  app.use(errorResponder(deps.logger));
  app.use(async (ctx, next) => {
    // Liveness only: the process answers. Readiness (dependencies reachable) is a separate check.
    if (ctx.method === 'GET' && ctx.path === '/health/live') ctx.body = { status: 'ok' };
    else await next();
  });
  app.use(apiDocs()); // GET /openapi.json, /docs
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
