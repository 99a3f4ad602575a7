import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Logger } from '../config/logger.js';
import type { NewOrder } from '../domain/order.js';
import type { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import type { PlacementStarter } from '../workflows/client.js';
import { OrderNotFoundError, RequestValidationError } from './errors.js';
import { IDEMPOTENCY_HEADER, validateKey, withIdempotencyKey } from './idempotency.js';
import { readJsonBody } from './json-body.js';
import { parseOrderRequest } from './order-request.js';
import { orderJson } from './order-response.js';
import { submitOrder, type FaultInjector } from './submit-order.js';

export interface OrdersRouteDeps {
  orders: OrdersRepository;
  placement: PlacementStarter;
  logger: Logger;
  idempotency: { keys: IdempotencyRepository; ttlMs: number; staleLockMs: number };
  faults?: FaultInjector;
}

const orderId = z.uuid();

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

  router.get('/orders/:id', async (ctx) => {
    const id = orderId.safeParse(ctx.params.id);
    if (!id.success) {
      throw new RequestValidationError([{ loc: ['path', 'id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }]);
    }
    const order = await deps.orders.find(id.data);
    if (!order) throw new OrderNotFoundError(id.data);
    respond(ctx, 200, orderJson(order));
  });

  return router;
}

function respond(ctx: Context, status: number, json: string): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = json;
}
