import { CANCELLABLE_STATUSES, isFinal, type Order, type OrderStatus } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { CancelNotRecordedError } from './errors.js';
import type { OrderCancellation } from './placement-client.js';

/**
 * A client's cancel of one order, as DELETE /orders/:id and DELETE /orders both make it, apart
 * from HTTP. Two halves, so that a cancel of many orders can record every cancel first and only
 * then wait for the decisions (their workflows decide meanwhile, in parallel):
 *  1. `askToCancel`: unless the order is final, record who asks and signal its workflow;
 *  2. `awaitCancelDecision`: wait for the workflow's decision, then read the order back (a cancel
 *     of many reads them back in one query: `awaitWorkflowDecision`, then `decisionOf`).
 * The order's workflow decides, against its own placement, whether the cancel wins.
 */

export interface CancelOrderDeps {
  /** The caller's account's orders. */
  orders: Pick<OrdersRepository, 'find' | 'recordCancelRequest'>;
  cancellation: OrderCancellation;
}

/**
 * A cancel as asked: `final` (nothing to ask: the order was final already), `recorded` (its
 * workflow has it), `no_workflow` (the order has no running workflow to ask).
 */
export interface CancelRequest {
  order: Order;
  state: 'final' | 'recorded' | 'no_workflow';
}

/** Where a cancel stands: the order as it was read last, and whether its fate is decided. */
export interface CancelDecision {
  order: Order;
  decided: boolean;
}

/** What a cancel came to: the order cancelled, not (it ended otherwise: `status`), or not decided yet. */
export type CancelVerdict = { kind: 'cancelled' } | { kind: 'not_cancelled'; status: OrderStatus } | { kind: 'undecided' };

/**
 * The first half: records the cancel in the order's workflow, by `deadline`. The key that asks
 * (`keyId`) is recorded on the order first: the cancel's status change, by the workflow or from
 * the venue's report, names it (best effort: without it the change is the system's). Throws
 * CancelNotRecordedError when the cancel could not be recorded (Temporal unreachable or slow).
 */
export async function askToCancel(deps: CancelOrderDeps, order: Order, keyId: string | null, deadline: number): Promise<CancelRequest> {
  if (!CANCELLABLE_STATUSES.includes(order.status)) return { order, state: 'final' };
  if (keyId) await deps.orders.recordCancelRequest(order.id, keyId).catch(() => {});
  let recorded: boolean;
  try {
    recorded = await deps.cancellation.request(order.id, deadline);
  } catch (error) {
    throw new CancelNotRecordedError(order.id, { cause: error });
  }
  return { order, state: recorded ? 'recorded' : 'no_workflow' };
}

/**
 * The second half's wait: whether the order's workflow decided by `deadline` (no wait at all once
 * it has passed). An order final already, or without a workflow, has nothing more to wait for.
 */
export async function awaitWorkflowDecision(
  deps: Pick<CancelOrderDeps, 'cancellation'>,
  request: CancelRequest,
  deadline: number,
): Promise<boolean> {
  if (request.state !== 'recorded') return true;
  if (Date.now() >= deadline) return false;
  return (await deps.cancellation.decision(request.order.id, deadline)).decided;
}

/**
 * Where the cancel stands, from the wait's outcome and the order as read back after it (`null`:
 * not read; the order as asked stands). Decided: the workflow said so, or the order is final in
 * the database (written before the workflow ends).
 */
export function decisionOf(request: CancelRequest, workflowDecided: boolean, readBack: Order | null): CancelDecision {
  const order = readBack ?? request.order;
  return { order, decided: workflowDecided || isFinal(order.status) };
}

/** The second half: waits for the decision, then reads the order back (the decision's details: filled quantity, times). */
export async function awaitCancelDecision(deps: CancelOrderDeps, request: CancelRequest, deadline: number): Promise<CancelDecision> {
  if (request.state === 'final') return { order: request.order, decided: true };
  const decided = await awaitWorkflowDecision(deps, request, deadline);
  return decisionOf(request, decided, await deps.orders.find(request.order.id).catch(() => null));
}

/** Both halves, for one order: DELETE /orders/:id. */
export async function cancelOrder(deps: CancelOrderDeps, order: Order, keyId: string | null, deadline: number): Promise<CancelDecision> {
  return awaitCancelDecision(deps, await askToCancel(deps, order, keyId, deadline), deadline);
}

/** Cancelling a cancelled order again is harmless: cancelled, the same verdict. */
export function verdictOf(decision: CancelDecision): CancelVerdict {
  if (!decision.decided) return { kind: 'undecided' };
  if (decision.order.status === 'cancelled') return { kind: 'cancelled' };
  return { kind: 'not_cancelled', status: decision.order.status };
}
