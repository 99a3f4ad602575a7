import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Logger } from '../config/logger.js';
import type { NewOrder, Order, OrderStatus } from '../domain/order.js';
import type { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import type { OrdersQuery } from '../prisma/orders-query.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import type { OrderCancellation, PlacementStarter } from '../workflows/client.js';
import { OrderNotCancellableError, OrderNotFoundError, RequestValidationError } from './errors.js';
import { IDEMPOTENCY_HEADER, validateKey, withIdempotencyKey } from './idempotency.js';
import { readJsonBody } from './json-body.js';
import { listOrdersRoute } from './list-orders.js';
import { parseOrderRequest } from './order-request.js';
import { orderJson } from './order-response.js';
import { type FaultInjector, submitOrder } from './submit-order.js';

export interface OrdersRouteDeps {
  orders: OrdersRepository;
  ordersQuery: OrdersQuery;
  placement: PlacementStarter;
  cancellation: OrderCancellation;
  logger: Logger;
  idempotency: { keys: IdempotencyRepository; ttlMs: number; staleLockMs: number };
  faults?: FaultInjector;
}

const orderId = z.uuid();
// Orders whose workflow can still stop them before they reach the exchange.
const CANCELLABLE: ReadonlySet<OrderStatus> = new Set(['accepted', 'placing']);

async function findOrder(orders: OrdersRepository, rawId: string | undefined): Promise<Order> {
  const id = orderId.safeParse(rawId);
  if (!id.success) {
    throw new RequestValidationError([{ loc: ['path', 'id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }]);
  }
  const order = await orders.find(id.data);
  if (!order) throw new OrderNotFoundError(id.data);
  return order;
}

export function ordersRouter(deps: OrdersRouteDeps): Router {
  const router = new Router();
  const submit = (request: NewOrder, key?: string) => submitOrder(deps, request, key);

  router.post('/orders', async (ctx) => {
    // Validation comes first: a request that fails it stores nothing, not even its key.
    const request = parseOrderRequest(await readJsonBody(ctx));
    const key = ctx.get(IDEMPOTENCY_HEADER);
    if (key === '') {
      respond(ctx, 201, orderJson(await submit(request)));
      return;
    }
    const answer = await withIdempotencyKey({ ...deps.idempotency, orders: deps.orders }, validateKey(key), request, submit);
    if (answer.replayed) ctx.set('Idempotent-Replayed', 'true');
    respond(ctx, answer.status, answer.body);
  });

  router.get('/orders', listOrdersRoute(deps));

  router.get('/orders/:id', async (ctx) => {
    const order = await findOrder(deps.orders, ctx.params.id);
    respond(ctx, 200, orderJson(order, await deps.orders.events(order.id)));
  });

  // Cancel: the order's workflow decides, against its own placement, whether the cancel wins.
  router.delete('/orders/:id', async (ctx) => {
    let order = await findOrder(deps.orders, ctx.params.id);
    if (CANCELLABLE.has(order.status)) {
      await deps.cancellation.cancel(order.id);
      order = await findOrder(deps.orders, order.id);
    }
    // Cancelling a cancelled order again is harmless: the same answer.
    if (order.status !== 'cancelled') throw new OrderNotCancellableError(order.id, order.status);
    respond(ctx, 200, orderJson(order, await deps.orders.events(order.id)));
  });

  return router;
}

function respond(ctx: Context, status: number, json: string): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = json;
}
