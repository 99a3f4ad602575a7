import type { Context, Middleware } from 'koa';
import type { OrdersQuery } from '../prisma/orders-query.js';
import type { CursorCodec } from './list-cursor.js';
import { DEFAULT_CURSORS, parseListOrdersQuery } from './list-orders-query.js';
import { orderJson } from './order-response.js';

/**
 * GET /orders: orders newest first (created_at DESC, id DESC), filtered, in pages linked by an
 * opaque cursor (keyset pagination, never OFFSET): `{"data": [<order>, …], "next": "<cursor>" | null}`.
 * Its query is validated by api/list-orders-query.ts.
 */
export function listOrdersRoute(deps: {
  ordersQuery: Pick<OrdersQuery, 'page'>;
  cursors?: CursorCodec;
  /** Whose orders the request lists: only that account's. */
  accountOf: (ctx: Context) => string;
}): Middleware {
  const orders = deps.ordersQuery;
  const cursors = deps.cursors ?? DEFAULT_CURSORS;
  return async (ctx) => {
    const params = parseListOrdersQuery(ctx.query, cursors);
    const page = await orders.page({ ...params.filters, accountId: deps.accountOf(ctx) }, params.limit, params.after);
    const last = page.orders.at(-1);
    const next = page.more && last ? cursors.encode({ createdAt: last.createdAt, id: last.id }, params.filterKey) : null;
    ctx.status = 200;
    ctx.type = 'application/json';
    // Each order exactly as orderJson writes it (limit_price keeps its exact decimal token).
    ctx.body = `{"data":[${page.orders.map((order) => orderJson(order)).join(',')}],"next":${JSON.stringify(next)}}`;
  };
}
