import { CANCELLABLE_STATUSES, type Order, type OrderStatus } from '../domain/order.js';
import type { OrdersQuery } from '../prisma/orders-query.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { askToCancel, awaitWorkflowDecision, type CancelOrderDeps, type CancelRequest, decisionOf, verdictOf } from './cancel-order.js';
import { mapConcurrently } from './concurrent-map.js';
import { CancelNotRecordedError } from './errors.js';

export interface CancelAllDeps extends CancelOrderDeps {
  /** The caller's account's orders: `findMany` reads the orders asked back, after the wait. */
  orders: CancelOrderDeps['orders'] & Pick<OrdersRepository, 'findMany'>;
  /** Lists the account's open orders. */
  ordersQuery: Pick<OrdersQuery, 'page'>;
  /** The time one call may take, asking and awaiting the decisions together (CANCEL_BUDGET_MS). */
  budgetMs: number;
  /** The most orders one call cancels (CANCEL_ALL_LIMIT.orders). */
  maxOrders: number;
  /** How many cancels one call asks (or awaits) of Temporal at once (CANCEL_ALL_LIMIT.concurrency). */
  concurrency: number;
}

export interface CancelAllRequest {
  accountId: string;
  /** The key that asks: each cancel's status change names it (as DELETE /orders/:id records it). */
  keyId: string | null;
  /** Only the open orders of this instrument. */
  instrument?: string;
}

/** What a cancel of every open order came to, each order asked listed once, in one of three lists. */
export interface CancelAllResult {
  cancelled: string[];
  /** Decided otherwise: the order ended in another status first (`reason` says which). */
  notCancelled: { id: string; reason: string }[];
  /** Asked (recorded in its workflow) but not decided within the budget: the decision follows. */
  pending: string[];
  /**
   * Open orders may remain that this call did not ask to cancel: more than `maxOrders`, or ones
   * whose cancel could not be recorded in time. Calling again asks them.
   */
  hasMore: boolean;
}

/**
 * Cancels every open order of the account (of `instrument`, if given), up to `maxOrders` of them
 * (newest first), each through the very path of DELETE /orders/:id (api/cancel-order.ts): the
 * same signal to its workflow, the same actor recorded, the same decision.
 *
 * All cancels are recorded first, then their decisions are awaited: their workflows decide in
 * parallel meanwhile, so the call takes about as long as the slowest decision, not their sum.
 * At most `concurrency` Temporal calls are in flight at once, in both phases. One budget bounds
 * both: an order not asked by then is left for the next call (`hasMore`); one not decided by
 * then is `pending`. Only when not one cancel could be recorded does it throw
 * (CancelNotRecordedError: Temporal is unreachable), as DELETE /orders/:id does.
 */
export async function cancelAllOrders(deps: CancelAllDeps, request: CancelAllRequest): Promise<CancelAllResult> {
  const deadline = Date.now() + deps.budgetMs;
  const open = await deps.ordersQuery.page(
    {
      accountId: request.accountId,
      statuses: CANCELLABLE_STATUSES,
      ...(request.instrument !== undefined && { instrument: request.instrument }),
    },
    deps.maxOrders,
  );

  const failures: unknown[] = [];
  const asked = await mapConcurrently(open.orders, deps.concurrency, async (order): Promise<CancelRequest | undefined> => {
    if (Date.now() >= deadline) return undefined;
    try {
      return await askToCancel(deps, order, request.keyId, deadline);
    } catch (error) {
      failures.push(error);
      return undefined;
    }
  });
  const requests = asked.filter((item): item is CancelRequest => item !== undefined);
  if (open.orders.length > 0 && requests.length === 0) {
    throw failures[0] ?? new CancelNotRecordedError(open.orders[0]!.id);
  }

  const decided = await mapConcurrently(requests, deps.concurrency, (asked) => awaitWorkflowDecision(deps, asked, deadline));
  // Read back in one query, not one per order: the answer comes right after the budget at worst.
  const readBack = await deps.orders.findMany(requests.map((asked) => asked.order.id)).catch(() => new Map<string, Order>());
  const decisions = requests.map((asked, i) => decisionOf(asked, decided[i]!, readBack.get(asked.order.id) ?? null));
  const result: CancelAllResult = {
    cancelled: [],
    notCancelled: [],
    pending: [],
    hasMore: open.more || requests.length < open.orders.length,
  };
  for (const decision of decisions) {
    const verdict = verdictOf(decision);
    const { id } = decision.order;
    if (verdict.kind === 'cancelled') result.cancelled.push(id);
    else if (verdict.kind === 'undecided') result.pending.push(id);
    else result.notCancelled.push({ id, reason: notCancelledReason(verdict.status) });
  }
  return result;
}

/** Why an order was not cancelled, by the status it ended in (or, without a workflow, is in). */
export function notCancelledReason(status: OrderStatus): string {
  switch (status) {
    case 'filled':
      return 'it is filled: the venue filled it before the cancel took effect';
    case 'expired':
      return 'it is expired: its day ended at the venue before the cancel took effect';
    case 'rejected':
      return 'it is rejected: it was never placed';
    default:
      // Not final and no running workflow: its request has not started it (yet), or died first
      // (the stale-order sweep rejects it then); DELETE /orders/:id answers 409 for it too.
      return `it is ${status}: no workflow of it was running to take the cancel`;
  }
}
