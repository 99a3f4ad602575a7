import { type NewOrder, type Order, type OrderStatus, toTicket } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import type { PlacementStarter } from '../workflows/client.js';
import { OrderNotAcceptedError } from './errors.js';

/** The steps of a request at which tests inject faults. */
export type FaultPoint = 'afterInsert' | 'afterStart' | 'beforeAnswer';
export type FaultInjector = (point: FaultPoint) => void | Promise<void>;

export interface SubmitOrderDeps {
  orders: OrdersRepository;
  placement: PlacementStarter;
  faults?: FaultInjector;
}

const ACCEPTED_OR_LATER: ReadonlySet<OrderStatus> = new Set(['accepted', 'placing', 'placed']);
const REJECTION_REASON = 'Placement could not be confirmed when the order was submitted';

/**
 * Stores the order and guarantees its placement, or guarantees it will never be placed.
 *
 * 1. insert the order as `pending`;
 * 2. start its workflow and wait for Temporal's acknowledgement (bounded);
 * 3. `pending -> accepted`: from here the order will be placed, and only now is it confirmed.
 * Any failure on the way rejects the order (`pending -> rejected`) unless it already got to
 * `accepted`, in which case the failure came too late to matter and the order is confirmed.
 * Resolves with the accepted order; rejects with OrderNotAcceptedError (never placed) or the
 * database's error (not stored, or left `pending` for the stale-order sweep to reject).
 */
export async function submitOrder(
  { orders, placement, faults }: SubmitOrderDeps,
  request: NewOrder,
  idempotencyKey?: string,
): Promise<Order> {
  const order = await orders.create(request, idempotencyKey);
  try {
    await faults?.('afterInsert');
    await placement.start(toTicket(order));
    await faults?.('afterStart');
    const status = await orders.accept(order.id);
    if (status !== 'accepted') throw new OrderNotAcceptedError(`Order ${order.id} is ${status ?? 'missing'}, not accepted`);
    await faults?.('beforeAnswer');
    return { ...order, status };
  } catch (error) {
    const status = await orders.rejectIfPending(order.id, REJECTION_REASON).catch(() => null);
    if (status !== null && ACCEPTED_OR_LATER.has(status)) return { ...order, status };
    throw new OrderNotAcceptedError(`Order ${order.id} not accepted (now ${status ?? 'unknown'})`, { cause: error });
  }
}
