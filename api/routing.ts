import type Router from '@koa/router';
import type { Middleware } from 'koa';

/** Router options for fixed paths (health, docs, metrics): only the path as written, no trailing slash, same case. */
export const EXACT_PATHS = { strict: true, sensitive: true } as const;

/**
 * Routers whose paths need no API key (health, docs, metrics), as one middleware that ends the
 * request on their paths: their routes, and for any other method the router's own answers, as the
 * orders routes get them: OPTIONS 200 with `Allow`, another method 405 with `Allow` (501 for one
 * the router does not implement, such as TRACE, which unknownMethodNotAllowed turns into 405).
 * Nothing after it runs for those paths (not the key check); any other path goes on.
 */
export function publicRoutes(...routers: Router[]): Middleware {
  // As plain Koa middleware (what app.use makes of them too): the router puts its own fields on ctx.
  const mounted = routers.map((router) => ({
    router,
    routes: router.routes() as unknown as Middleware,
    allowedMethods: router.allowedMethods() as unknown as Middleware,
  }));
  return async (ctx, next) => {
    const own = mounted.find(({ router }) => router.stack.some((layer) => layer.match(ctx.path)));
    if (!own) return next();
    await own.routes(ctx, () => own.allowedMethods(ctx, async () => {}));
  };
}

/**
 * The router answers 501 to a method it does not implement at all (TRACE, QUERY, …), whatever
 * the path. For a client that is a method the path does not take: 405 with the path's Allow, as
 * for PUT; or 404 on a path the router does not have.
 */
export function unknownMethodNotAllowed(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 501 || ctx.body != null) return;
    if (ctx.response.get('Allow') === '') {
      ctx.remove('Allow');
      ctx.status = 404;
    } else ctx.status = 405;
  };
}
