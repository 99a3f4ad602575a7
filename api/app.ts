import Koa from 'koa';
import type { Logger } from '../config/logger.js';
import { errorResponder } from './errors.js';
import { ordersRouter, type OrdersRouteDeps } from './orders-routes.js';

export type AppDeps = OrdersRouteDeps & { logger: Logger };

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by errorResponder, once
  const router = ordersRouter(deps);
  app.use(errorResponder(deps.logger));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}
