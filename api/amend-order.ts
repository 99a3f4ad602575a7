import { hasLimitPrice, isFinal, isStopType, type Order, type OrderStatus } from '../domain/order.js';
import type { AmendOrder } from './amend-request.js';
import { OrderNotAmendableError, RequestValidationError, type ValidationDetail } from './errors.js';
import { findOrder } from './order-id.js';
import { priceProhibited } from './order-request-fields.js';
import { orderJson } from './order-response.js';
import type { AccountOrders, OrdersRouteDeps } from './orders-routes.js';
import type { OrderAmendment } from './placement-client.js';

/** Statuses in which the venue works the order: the ones an amend is sent to its workflow in. */
const AMENDABLE_STATUSES: readonly OrderStatus[] = ['placed', 'partially_filled'];

export async function amendOrder(
  deps: OrdersRouteDeps,
  orders: AccountOrders,
  rawId: string | undefined,
  request: AmendOrder,
  keyId: string | null | undefined,
  updateId: string,
): Promise<{ status: number; body: string; orderId: string; store: boolean }> {
  const order = await findOrder(orders, rawId);
  // The order's type never changes: a limit or stop price of a type without one is refused as on POST.
  const prohibited: ValidationDetail[] = [];
  if (request.limitPrice !== undefined && !hasLimitPrice(order.type))
    prohibited.push({ loc: ['body', 'limit_price'], msg: priceProhibited('limit_price', order.type), type: 'value_error' });
  if (request.stopPrice !== undefined && !isStopType(order.type))
    prohibited.push({ loc: ['body', 'stop_price'], msg: priceProhibited('stop_price', order.type), type: 'value_error' });
  if (prohibited.length > 0) throw new RequestValidationError(prohibited);
  if (isFinal(order.status)) throw new OrderNotAmendableError(order.id, 'final', `it is ${order.status}`);
  if (!AMENDABLE_STATUSES.includes(order.status)) {
    throw new OrderNotAmendableError(
      order.id,
      'not_working_yet',
      `it is not working at the venue yet (${order.status}); try again once placed`,
    );
  }
  if (!deps.amendment) throw new Error('amendments are not configured');
  // The amend's event, written when the venue's report of it is applied, names the key that asked.
  if (keyId && orders.recordAmendRequest) await orders.recordAmendRequest(order.id, keyId).catch(() => {});
  let result: Awaited<ReturnType<OrderAmendment['amend']>>;
  try {
    result = await deps.amendment.amend(order.id, request, Date.now() + deps.budgets.cancelMs, updateId);
  } catch (error) {
    // The workflow ended between the read above and the Update (its order became final): 409, not 500.
    const current = await orders.find(order.id).catch(() => null);
    if (current && isFinal(current.status)) throw new OrderNotAmendableError(order.id, 'final', `it is ${current.status}`);
    throw error;
  }
  const now = (await orders.find(order.id).catch(() => null)) ?? order;
  if (result === null) throw new OrderNotAmendableError(order.id, 'final', `it is ${now.status} and its workflow has ended`);
  if (!result.decided) {
    return { status: 202, body: orderJson(now, await orders.events(order.id).catch(() => [])), orderId: order.id, store: false };
  }
  const outcome = result.outcome;
  if (outcome.outcome === 'refused') throw new OrderNotAmendableError(order.id, outcome.reason, outcome.message);
  // The venue's word: the order as amended, whether or not the ingestion has applied its report yet.
  const amended: Order = {
    ...now,
    quantity: outcome.quantity,
    limitPrice: outcome.limitPrice === null ? null : normalPrice(outcome.limitPrice),
    // An outcome of a worker of the version before lacks the stop price: the order's as read.
    ...(outcome.stopPrice !== undefined && { stopPrice: outcome.stopPrice === null ? null : normalPrice(outcome.stopPrice) }),
    timeInForce: outcome.timeInForce,
    expiresAt: outcome.expiresAt === null ? null : new Date(outcome.expiresAt),
  };
  return { status: 200, body: orderJson(amended, await orders.events(order.id)), orderId: order.id, store: true };
}

/** A venue price ("187.2500") as the orders table keeps it ("187.25"). */
function normalPrice(price: string): string {
  const [whole, fraction = ''] = price.split('.');
  return `${whole}.${fraction.padEnd(2, '0').slice(0, 2)}`;
}
