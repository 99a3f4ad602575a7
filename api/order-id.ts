import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { Order } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { OrderNotFoundError, RequestValidationError } from './errors.js';

const orderId = z.uuid();

/** The `{id}` of a path: a UUID, or RequestValidationError (422) naming it. */
export function parseOrderId(rawId: string | undefined): string {
  const id = orderId.safeParse(rawId);
  if (!id.success) {
    throw new RequestValidationError([{ loc: ['path', 'id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }]);
  }
  return id.data;
}

export async function findOrder(orders: Pick<OrdersRepository, 'find'>, rawId: string | undefined): Promise<Order> {
  const id = parseOrderId(rawId);
  const order = await orders.find(id);
  if (!order) throw new OrderNotFoundError(id);
  return order;
}

/**
 * OPTIONS on a path of `router` with a malformed `{id}` answers as GET there does, 422 naming the
 * id, not 200 with `Allow`: the path names no order there could be. A well-formed id goes on to
 * the router's answer whether or not the order exists (OPTIONS reads nothing and needs no key).
 * A CORS preflight is answered before (api/app.ts).
 */
export function orderIdOnOptions(router: Router): Middleware {
  const withId = router.stack.filter((layer) => layer.paramNames.some((key) => key.name === 'id'));
  return async (ctx, next) => {
    if (ctx.method === 'OPTIONS') {
      const layer = withId.find((candidate) => candidate.match(ctx.path));
      if (layer) parseOrderId(layer.params(ctx.path, layer.captures(ctx.path)).id);
    }
    await next();
  };
}
