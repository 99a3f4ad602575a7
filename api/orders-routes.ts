import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Logger } from '../config/logger.js';
import { CANCELLABLE_STATUSES, isFinal, type NewOrder, type Order } from '../domain/order.js';
import type { ExecutionsQuery } from '../prisma/executions-query.js';
import type { OrdersQuery } from '../prisma/orders-query.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { CancelNotRecordedError, OrderNotCancellableError, OrderNotFoundError, RequestValidationError } from './errors.js';
import { createExecutionCursorCodec, type ExecutionCursorCodec } from './execution-cursor.js';
import { executionsRoute } from './executions-route.js';
import { IDEMPOTENCY_HEADER, type IdempotencyDeps, validateKey, withIdempotencyKey } from './idempotency.js';
import { readJsonBody } from './json-body.js';
import type { CursorCodec } from './list-cursor.js';
import { listOrdersRoute } from './list-orders.js';
import { parseOrderRequest } from './order-request.js';
import { orderJson } from './order-response.js';
import type { OrderCancellation, PlacementStarter } from './placement-client.js';
import { type FaultInjector, type OpenOutcomeReporter, type SubmitOrderDeps, submitOrder } from './submit-order.js';

export interface OrdersRouteDeps {
  orders: SubmitOrderDeps['orders'] & IdempotencyDeps['orders'] & Pick<OrdersRepository, 'find' | 'events'>;
  ordersQuery: Pick<OrdersQuery, 'page'>;
  executions: Pick<ExecutionsQuery, 'page'>;
  placement: PlacementStarter;
  cancellation: OrderCancellation;
  logger: Logger;
  idempotency: Omit<IdempotencyDeps, 'orders'>;
  /** The compensating rejection's own store (a reserved pool); the order store when not given. */
  fence?: Pick<OrdersRepository, 'rejectIfPending'>;
  /** POST /orders: insert and start within orderMs; DELETE: the decision awaited for cancelMs. */
  budgets: { orderMs: number; cancelMs: number };
  openOutcome?: OpenOutcomeReporter;
  inserts?: SubmitOrderDeps['inserts'];
  /** Signs and checks GET /orders cursors (the default: with the public key). */
  cursors?: CursorCodec;
  executionCursors?: ExecutionCursorCodec;
  faults?: FaultInjector;
}

const orderId = z.uuid();

async function findOrder(orders: Pick<OrdersRepository, 'find'>, rawId: string | undefined): Promise<Order> {
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
  const submitDeps = { ...deps, budgetMs: deps.budgets.orderMs };
  const submit = (request: NewOrder, key?: string) => submitOrder(submitDeps, request, key);

  router.post('/orders', async (ctx) => {
    // Validation comes first: a request that fails it stores nothing, not even its key.
    const request = parseOrderRequest(await readJsonBody(ctx));
    const key = ctx.get(IDEMPOTENCY_HEADER);
    // No header at all: no key. A header present but empty is a bad key (validateKey: 400).
    if (ctx.headers[IDEMPOTENCY_HEADER.toLowerCase()] === undefined) {
      respond(ctx, 201, orderJson(await submit(request)));
      return;
    }
    const answer = await withIdempotencyKey({ ...deps.idempotency, orders: deps.orders }, validateKey(key), request, submit);
    if (answer.replayed) ctx.set('Idempotent-Replayed', 'true');
    respond(ctx, answer.status, answer.body);
  });

  router.get('/orders', listOrdersRoute(deps));

  router.get(
    '/orders/:id/executions',
    executionsRoute({
      executions: deps.executions,
      executionCursors: deps.executionCursors ?? createExecutionCursorCodec(undefined),
      findOrder: (rawId) => findOrder(deps.orders, rawId),
    }),
  );

  router.get('/orders/:id', async (ctx) => {
    const order = await findOrder(deps.orders, ctx.params.id);
    respond(ctx, 200, orderJson(order, await deps.orders.events(order.id)));
  });

  // Cancel: the order's workflow decides, against its own placement, whether the cancel wins.
  // 200 cancelled (with what was filled before); 409 too late (filled) or final otherwise; 202 when the cancel is
  // recorded in the workflow but not decided within the budget: the decision follows, readable
  // with GET /orders/:id.
  router.delete('/orders/:id', async (ctx) => {
    let order = await findOrder(deps.orders, ctx.params.id);
    let decided = true;
    if (CANCELLABLE_STATUSES.includes(order.status)) {
      let outcome: Awaited<ReturnType<OrderCancellation['cancel']>>;
      try {
        outcome = await deps.cancellation.cancel(order.id, Date.now() + deps.budgets.cancelMs);
      } catch (error) {
        throw new CancelNotRecordedError(order.id, { cause: error });
      }
      decided = outcome?.decided !== false;
      order = (await deps.orders.find(order.id).catch(() => null)) ?? order;
    }
    if (!decided && !isFinal(order.status)) {
      respond(ctx, 202, orderJson(order, await deps.orders.events(order.id).catch(() => [])));
      return;
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
