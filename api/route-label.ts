import type Router from '@koa/router';
import type { Context } from 'koa';

/** The path template of the route a request is for (`/orders/:id`), or undefined when no route takes it. */
export type RouteMatcher = (method: string, path: string) => string | undefined;

// The fixed paths (health, metrics, docs): their label is the path itself, the docs' files share
// one; any other path no route takes is 'unmatched', so scans of random URLs cannot blow up the
// number of series.
const FIXED_ROUTES = new Set(['/health/live', '/health/ready', '/metrics', '/openapi.json', '/docs']);

/**
 * The route templates of `routers`, as their own dispatch would pick them (the last route layer
 * matching path and method): for requests answered before routing, a 401 or a 429 of the access
 * control, whose route the router never got to set.
 */
export function routeMatcher(routers: readonly Router[]): RouteMatcher {
  return (method, path) => {
    for (const router of routers) {
      const matched = router.match(path, method);
      if (!matched.route) continue;
      const layer = matched.pathAndMethod.toReversed().find((candidate) => candidate.methods.length > 0);
      if (typeof layer?.path === 'string') return layer.path;
    }
    return undefined;
  };
}

/**
 * The route label: the router's path template (`/orders/:id`), never the raw URL; for a request
 * refused before routing, the template of the route it was for (`matcher`).
 */
export function routeLabel(ctx: Context, matcher?: RouteMatcher): string {
  // First: the fixed paths are routers' too, and the docs' files must share one label.
  if (FIXED_ROUTES.has(ctx.path)) return ctx.path;
  if (ctx.path.startsWith('/docs/')) return '/docs/*';
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  const route = matcher?.(ctx.method, ctx.path);
  if (route !== undefined) return route;
  return 'unmatched';
}
