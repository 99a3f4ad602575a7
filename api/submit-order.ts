import { type NewOrder, type Order, type OrderStatus, REJECTION_REASONS, STARTED_STATUSES, toTicket } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { OrderNotAcceptedError } from './errors.js';
import { type PlacementStarter, StartNotSentError } from './placement-client.js';
import type { TurnQueue } from './turn-queue.js';

/** The steps of a request at which tests inject faults. */
export type FaultPoint = 'afterInsert' | 'afterStart' | 'beforeAnswer';
export type FaultInjector = (point: FaultPoint) => void | Promise<void>;

/** An order whose request answered 500 without knowing whether it will be placed (a double fault). */
export type OpenOutcomeReporter = (orderId: string, cause: unknown) => void;

export interface SubmitOrderDeps {
  orders: Pick<OrdersRepository, 'create' | 'accept' | 'rejectIfPending'>;
  placement: PlacementStarter;
  /** Where the compensating rejection goes (a pool of its own); `orders` when not given. */
  fence?: Pick<OrdersRepository, 'rejectIfPending'>;
  /** The time one POST /orders may take for its insert and its workflow start together. */
  budgetMs: number;
  /**
   * Inserts wait here for a database connection, in arrival order, for as long as the budget
   * allows: an insert must start `boundMs` before the deadline, as it may take that long itself,
   * so that the answer stays within budget + the compensation's bound. A budget too short for
   * that (a setting for slow machines) lets it wait until almost the deadline. Without a queue,
   * an insert waits for the pool's own connect timeout.
   */
  inserts?: { queue: TurnQueue; boundMs: number };
  openOutcome?: OpenOutcomeReporter;
  faults?: FaultInjector;
}

/**
 * Stores the order and guarantees its placement, or guarantees it will never be placed.
 *
 * 1. insert the order as `pending`, when its turn comes (nothing stored if it does not in time);
 * 2. start its workflow and wait for Temporal's acknowledgement, within what is left of the
 *    request's budget: once acknowledged, the workflow will place the order, so this is the
 *    decision, and nothing after it can turn the answer into a 500;
 * 3. record `pending -> accepted` for readers (best effort: the order is placed either way).
 * If the start is not acknowledged, the workflow may still exist (a lost acknowledgement, a start
 * Temporal runs late): the compensation `pending -> rejected` fences it, because a workflow can
 * only claim a pending order. If the workflow claimed it first, it is placing: answer 201. Only
 * when the compensation cannot be confirmed either (Temporal and PostgreSQL both failing) is the
 * outcome open: the answer is 500, and the order is reported until it is decided. A start that
 * was never sent (its turn did not come within the budget) leaves nothing open.
 */
export async function submitOrder(deps: SubmitOrderDeps, request: NewOrder, idempotencyKey?: string): Promise<Order> {
  const { orders, placement, faults } = deps;
  const deadline = Date.now() + deps.budgetMs;
  const insert = () => orders.create(request, idempotencyKey);
  const order = await (deps.inserts
    ? deps.inserts.queue.run(insertTurnBy(deadline, deps.budgetMs, deps.inserts.boundMs), insert)
    : insert());
  try {
    await faults?.('afterInsert');
    await placement.start(toTicket(order), deadline);
    await faults?.('afterStart'); // a throw here stands for a start whose acknowledgement was lost
  } catch (error) {
    return compensate(deps, order, error);
  }
  // Decided: the workflow will place the order. No failure from here on turns the answer into a 500.
  let status: OrderStatus | null = null;
  try {
    status = await orders.accept(order.id);
    await faults?.('beforeAnswer');
  } catch {
    // `accepted` is only a record for readers; the workflow claims a pending order all the same.
  }
  // Only a rejection the database confirms does: the stale-order sweep got there first (it
  // never should within the budget, see config), so no workflow can claim the order.
  if (status === 'rejected') throw new OrderNotAcceptedError(`Order ${order.id} was rejected before its start was acknowledged`);
  return { ...order, status: answeredStatus(status) };
}

// An insert whose turn comes with less than this left of the budget could not start its workflow in time.
const MIN_TIME_AFTER_INSERT_MS = 250;

function insertTurnBy(deadline: number, budgetMs: number, insertBoundMs: number): number {
  return budgetMs > insertBoundMs + MIN_TIME_AFTER_INSERT_MS ? deadline - insertBoundMs : deadline - MIN_TIME_AFTER_INSERT_MS;
}

/**
 * The status a 201 carries: `accepted` (its placement is guaranteed) even when its workflow has
 * already claimed it; GET /orders/:id shows the progress. Only a cancel that came first shows.
 */
function answeredStatus(current: OrderStatus | null): OrderStatus {
  return current === 'cancelled' ? 'cancelled' : 'accepted';
}

async function compensate(deps: SubmitOrderDeps, order: Order, error: unknown): Promise<Order> {
  let status: OrderStatus | null;
  try {
    status = await (deps.fence ?? deps.orders).rejectIfPending(order.id, REJECTION_REASONS.startUnconfirmed);
  } catch (rejectError) {
    // A start never sent left nothing that could claim the order: it can never be placed, and
    // the stale-order sweep rejects it later. Only a start that may have reached Temporal is open.
    if (error instanceof StartNotSentError) {
      throw new OrderNotAcceptedError(`Order ${order.id} not accepted (its start was never sent; rejection unconfirmed)`, { cause: error });
    }
    deps.openOutcome?.(order.id, rejectError);
    throw new OrderNotAcceptedError(`Order ${order.id}: start and rejection both unconfirmed`, { cause: error });
  }
  // The workflow claimed it before the rejection: it will be placed.
  if (status !== null && STARTED_STATUSES.includes(status)) return { ...order, status: answeredStatus(status) };
  throw new OrderNotAcceptedError(`Order ${order.id} not accepted (now ${status ?? 'missing'})`, { cause: error });
}
