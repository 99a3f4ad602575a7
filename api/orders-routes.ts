import { createHash, randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from '../config/logger.js';
import { CANCEL_ALL_LIMIT } from '../domain/limits.js';
import type { NewOrder } from '../domain/order.js';
import type { ExecutionsQuery } from '../prisma/executions-query.js';
import type { OrdersQuery } from '../prisma/orders-query.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { amendOrder } from './amend-order.js';
import { parseAmendRequest } from './amend-request.js';
import { callerOf } from './caller.js';
import { cancelAllOrders } from './cancel-all.js';
import { parseCancelAllQuery } from './cancel-all-query.js';
import { cancelAllAnswer } from './cancel-all-response.js';
import { cancelOrder, verdictOf } from './cancel-order.js';
import { OrderNotCancellableError } from './errors.js';
import { createExecutionCursorCodec, type ExecutionCursorCodec } from './execution-cursor.js';
import { executionsRoute } from './executions-route.js';
import {
  amendFingerprint,
  IDEMPOTENCY_HEADER,
  type IdempotencyDeps,
  validateKey,
  withIdempotencyKey,
  withIdempotentAnswer,
} from './idempotency.js';
import { readJsonBody } from './json-body.js';
import type { CursorCodec } from './list-cursor.js';
import { listOrdersRoute } from './list-orders.js';
import { findOrder, parseOrderId } from './order-id.js';
import { parseOrderRequest } from './order-request.js';
import { orderJson } from './order-response.js';
import type { OrderAmendment, OrderCancellation, PlacementStarter } from './placement-client.js';
import { type FaultInjector, type OpenOutcomeReporter, type SubmitOrderDeps, submitOrder } from './submit-order.js';

/** The order store as one request sees it: its account's orders only. */
export type AccountOrders = SubmitOrderDeps['orders'] &
  IdempotencyDeps['orders'] &
  Pick<OrdersRepository, 'find' | 'findMany' | 'events' | 'recordCancelRequest'> &
  Partial<Pick<OrdersRepository, 'recordAmendRequest'>>;

export interface OrdersRouteDeps {
  orders: AccountOrders & { forAccount(accountId: string): AccountOrders };
  ordersQuery: Pick<OrdersQuery, 'page'>;
  executions: Pick<ExecutionsQuery, 'page'>;
  placement: PlacementStarter;
  cancellation: OrderCancellation;
  /** PATCH /orders/{id}: the order's workflow decides (within budgets.cancelMs, as a cancel). */
  amendment?: OrderAmendment;
  logger: Logger;
  idempotency: Omit<IdempotencyDeps, 'orders' | 'keys'> & {
    keys: IdempotencyDeps['keys'] & { forAccount(accountId: string): IdempotencyDeps['keys'] };
  };
  /** The compensating rejection's own store (a reserved pool); the order store when not given. */
  fence?: Pick<OrdersRepository, 'rejectIfPending'>;
  /** POST /orders: insert and start within orderMs; DELETE (one order or all): the decisions awaited for cancelMs. */
  budgets: { orderMs: number; cancelMs: number };
  /** DELETE /orders: orders per call, Temporal calls at once (the default: CANCEL_ALL_LIMIT). */
  cancelAll?: { orders: number; concurrency: number };
  openOutcome?: OpenOutcomeReporter;
  inserts?: SubmitOrderDeps['inserts'];
  /** Signs and checks GET /orders cursors (the default: with the public key). */
  cursors?: CursorCodec;
  executionCursors?: ExecutionCursorCodec;
  faults?: FaultInjector;
}

export function ordersRouter(deps: OrdersRouteDeps): Router {
  const router = new Router();
  const ordersOf = (ctx: Context) => deps.orders.forAccount(callerOf(ctx).accountId);

  router.post('/orders', async (ctx) => {
    // Validation comes first: a request that fails it stores nothing, not even its key.
    const request = parseOrderRequest(await readJsonBody(ctx));
    const { accountId } = callerOf(ctx);
    const orders = deps.orders.forAccount(accountId);
    const submitDeps = { ...deps, orders, budgetMs: deps.budgets.orderMs };
    const submit = (order: NewOrder, key?: string) => submitOrder(submitDeps, order, key);
    const key = ctx.get(IDEMPOTENCY_HEADER);
    // No header at all: no key. A header present but empty is a bad key (validateKey: 400).
    if (ctx.headers[IDEMPOTENCY_HEADER.toLowerCase()] === undefined) {
      respond(ctx, 201, orderJson(await submit(request)));
      return;
    }
    const idempotency = { ...deps.idempotency, keys: deps.idempotency.keys.forAccount(accountId), orders };
    const answer = await withIdempotencyKey(idempotency, validateKey(key), request, submit);
    if (answer.replayed) ctx.set('Idempotent-Replayed', 'true');
    respond(ctx, answer.status, answer.body);
  });

  // Cancel all: every open order of the account (of `instrument`), each as DELETE /orders/:id
  // cancels it (api/cancel-all.ts). An Idempotency-Key is not honoured (ignored): a repeat
  // cancels what is open then (docs/api.md says why).
  router.delete('/orders', async (ctx) => {
    const { instrument } = parseCancelAllQuery(ctx.query);
    const { accountId, keyId } = callerOf(ctx);
    const limits = deps.cancelAll ?? CANCEL_ALL_LIMIT;
    const result = await cancelAllOrders(
      {
        orders: deps.orders.forAccount(accountId),
        cancellation: deps.cancellation,
        ordersQuery: deps.ordersQuery,
        budgetMs: deps.budgets.cancelMs,
        maxOrders: limits.orders,
        concurrency: limits.concurrency,
      },
      { accountId, keyId, ...(instrument !== undefined && { instrument }) },
    );
    const answer = cancelAllAnswer(result);
    respond(ctx, answer.status, answer.body);
  });

  router.get('/orders', listOrdersRoute({ ...deps, accountOf: (ctx) => callerOf(ctx).accountId }));

  router.get(
    '/orders/:id/executions',
    executionsRoute({
      executions: deps.executions,
      executionCursors: deps.executionCursors ?? createExecutionCursorCodec(undefined),
      findOrder: (ctx, rawId) => findOrder(ordersOf(ctx), rawId),
    }),
  );

  router.get('/orders/:id', async (ctx) => {
    const orders = ordersOf(ctx);
    const order = await findOrder(orders, ctx.params.id);
    respond(ctx, 200, orderJson(order, await orders.events(order.id)));
  });

  // Cancel: the order's workflow decides, against its own placement, whether the cancel wins
  // (api/cancel-order.ts). 200 cancelled (with what was filled before); 409 too late (filled) or
  // final otherwise; 202 when the cancel is recorded in the workflow but not decided within the
  // budget: the decision follows, readable with GET /orders/:id.
  router.delete('/orders/:id', async (ctx) => {
    const orders = ordersOf(ctx);
    const found = await findOrder(orders, ctx.params.id);
    const decision = await cancelOrder(
      { orders, cancellation: deps.cancellation },
      found,
      callerOf(ctx).keyId,
      Date.now() + deps.budgets.cancelMs,
    );
    const { order } = decision;
    const verdict = verdictOf(decision);
    if (verdict.kind === 'undecided') {
      respond(ctx, 202, orderJson(order, await orders.events(order.id).catch(() => [])));
      return;
    }
    if (verdict.kind === 'not_cancelled') throw new OrderNotCancellableError(order.id, verdict.status);
    respond(ctx, 200, orderJson(order, await orders.events(order.id)));
  });

  // Amend: the order's workflow decides, and the venue replaces the working order (FIX
  // cancel/replace). 200 the order as amended; 409 final, not working at the venue yet, or the
  // venue refused it (a new quantity not above what is filled: the amend lost a race with a
  // fill), naming why; 202 asked but not decided within the cancel's budget (GET /orders/{id}
  // shows the outcome: the amend's event in its history, or none).
  router.patch('/orders/:id', async (ctx) => {
    const request = parseAmendRequest(await readJsonBody(ctx));
    const { accountId, keyId } = callerOf(ctx);
    const orders = deps.orders.forAccount(accountId);
    const rawId = ctx.params.id;
    if (ctx.headers[IDEMPOTENCY_HEADER.toLowerCase()] === undefined) {
      const answer = await amendOrder(deps, orders, rawId, request, keyId, randomUUID());
      respond(ctx, answer.status, answer.body);
      return;
    }
    const key = validateKey(ctx.get(IDEMPOTENCY_HEADER));
    const id = parseOrderId(rawId);
    // The same key is the same amend: its Update id too, so a retry after a 202 is answered by Temporal as the first.
    const updateId = `amend-${createHash('sha256').update(`${accountId}\u0000${key}`).digest('hex').slice(0, 40)}`;
    const answer = await withIdempotentAnswer(
      { ...deps.idempotency, keys: deps.idempotency.keys.forAccount(accountId) },
      key,
      amendFingerprint(id, request),
      () => amendOrder(deps, orders, id, request, keyId, updateId),
    );
    if (answer.replayed) ctx.set('Idempotent-Replayed', 'true');
    respond(ctx, answer.status, answer.body);
  });

  return router;
}

function respond(ctx: Context, status: number, json: string): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = json;
}
