import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Logger } from '../config/logger.js';
import { toTicket } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import type { PlacementStarter } from '../workflows/client.js';
import { OrderNotAcceptedError, OrderNotFoundError, RequestValidationError } from './errors.js';
import { readJsonBody } from './json-body.js';
import { parseOrderRequest } from './order-request.js';
import { orderJson } from './order-response.js';

export interface OrdersRouteDeps {
  orders: OrdersRepository;
  placement: PlacementStarter;
  logger: Logger;
}

const orderId = z.uuid();

export function ordersRouter({ orders, placement, logger }: OrdersRouteDeps): Router {
  const router = new Router();

  router.post('/orders', async (ctx) => {
    const request = parseOrderRequest(await readJsonBody(ctx));
    const order = await orders.create(request);
    try {
      await placement.start(toTicket(order));
    } catch (startError) {
      // The start failed or its outcome is unknown (a timeout may still land). Reject the order
      // unless its workflow already claimed it: exactly one of the two wins in the database.
      const status = await orders.rejectIfPending(order.id, 'Placement could not be confirmed when the order was submitted');
      if (status === 'rejected' || status === null) {
        throw new OrderNotAcceptedError(`Order ${order.id} rejected: workflow start not confirmed`, { cause: startError });
      }
      logger.warn({ orderId: order.id, err: startError, status }, 'workflow start reported an error but the workflow runs');
      order.status = status;
    }
    respond(ctx, 201, orderJson(order));
  });

  router.get('/orders/:id', async (ctx) => {
    const id = orderId.safeParse(ctx.params.id);
    if (!id.success) {
      throw new RequestValidationError([{ loc: ['path', 'id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }]);
    }
    const order = await orders.find(id.data);
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
