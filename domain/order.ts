/**
 * The order as the service knows it, independent of HTTP, Prisma and Temporal.
 *
 * Its lifecycle is the table TRANSITIONS below; everything else (the repository's conditional
 * UPDATEs, the workflow's final set, the API's cancellable set, the OpenAPI text) is derived from
 * it. Each change is a conditional UPDATE, so of two actors racing exactly one wins:
 *   pending  -> accepted  by the API, once Temporal acknowledged the order's workflow (a record
 *                         for readers, not the decision: the acknowledged start is what
 *                         guarantees the placement, and the API answers 201 after it), or by the
 *                         API or the stale-order sweep deciding an order a dead request left
 *                         pending whose workflow runs
 *   pending  -> rejected  by the API when it cannot confirm the start, or by the API or the
 *                         stale-order sweep when the request that stored it ended without
 *                         starting its workflow (process died): the order will never be placed
 *   pending  -> placing   by the order's workflow, right before it calls the exchange, when the
 *   accepted -> placing   API's `accepted` is not recorded yet or never will be; racing the API's
 *                         rejection, exactly one of the two wins
 *   accepted -> cancelled by the order's workflow, on a client's cancel, once no exchange call
 *   placing  -> cancelled succeeded and the exchange confirmed it never got the order
 *   placing  -> placed    by the order's workflow, once the exchange accepted the order
 * Every status an order takes is recorded with its time (table order_events, by a trigger).
 */
export const ORDER_TYPES = ['market', 'limit'] as const;
export const ORDER_SIDES = ['buy', 'sell'] as const;
export const ORDER_STATUSES = ['pending', 'accepted', 'placing', 'placed', 'rejected', 'cancelled'] as const;

export type OrderType = (typeof ORDER_TYPES)[number];

export type OrderSide = (typeof ORDER_SIDES)[number];
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Who may make a status change. */
export type Actor = 'api' | 'workflow' | 'sweep';

/** Every status change an order may make, and who makes it (see the table above). */
export const TRANSITIONS: readonly { from: OrderStatus; to: OrderStatus; by: readonly Actor[] }[] = [
  { from: 'pending', to: 'accepted', by: ['api', 'sweep'] },
  { from: 'pending', to: 'rejected', by: ['api', 'sweep'] },
  { from: 'pending', to: 'placing', by: ['workflow'] },
  { from: 'accepted', to: 'placing', by: ['workflow'] },
  { from: 'accepted', to: 'cancelled', by: ['workflow'] },
  { from: 'placing', to: 'cancelled', by: ['workflow'] },
  { from: 'placing', to: 'placed', by: ['workflow'] },
];

export function isAllowedTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS.some((transition) => transition.from === from && transition.to === to);
}

/** Statuses an order never leaves. */
export const FINAL_STATUSES = ['placed', 'rejected', 'cancelled'] as const satisfies readonly OrderStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];
export function isFinal(status: OrderStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly OrderStatus[]).includes(status);
}

/** The statuses from which an order may change to `to` (by anyone), in the table's order. */
export function sourcesOf(to: OrderStatus): OrderStatus[] {
  return TRANSITIONS.filter((transition) => transition.to === to).map((transition) => transition.from);
}

/** Statuses from which the order's workflow may claim it for placement. */
export const CLAIMABLE_STATUSES: readonly OrderStatus[] = sourcesOf('placing');
/**
 * Statuses in which a client's cancel is sent to the order's workflow: every status but a final
 * one ('pending' too: a 201 may have been answered although recording 'accepted' failed).
 */
export const CANCELLABLE_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((status) => !isFinal(status));
/** Statuses in which an order's workflow runs or has run: its placement is guaranteed or done. */
export const STARTED_STATUSES: readonly OrderStatus[] = ['accepted', 'placing', 'placed', 'cancelled'];

/** What each status means, for readers (the OpenAPI document adds who moves it on, and whether it is final). */
export const STATUS_MEANINGS: Record<OrderStatus, string> = {
  pending: 'stored, while its request runs; never placed unless the API accepts it',
  accepted: 'its workflow runs (Temporal acknowledged it): it will be placed unless a cancel wins first. A 201 carries this status',
  placing: 'claimed by its workflow, which is calling the exchange',
  placed: 'the exchange accepted it (`placed_at`)',
  rejected:
    'it will never be placed (`rejected_reason`): the API could not confirm its workflow and answered 500, or its request ' +
    'died and the stale-order sweep rejected it',
  cancelled: 'a client cancelled it (`DELETE /orders/{id}`) before the exchange accepted it (`cancelled_at`): it will never be placed',
};

/** Why an order was rejected (its `rejected_reason`), by who rejected it and when. */
export const REJECTION_REASONS = {
  /** The API could not confirm its workflow's start within the request's budget. */
  startUnconfirmed: 'Placement could not be confirmed when the order was submitted',
  /** A retry with the same Idempotency-Key found the order its earlier request left pending. */
  requestDied: 'Its request ended without starting its placement',
  /** The stale-order sweep found it pending long after its request ended. */
  staleOrder: 'Its request ended without starting its placement; rejected by the stale-order sweep',
} as const;

/** A validated order request. `limitPrice` is a decimal string, never a float. */
export interface NewOrder {
  type: OrderType;
  side: OrderSide;
  instrument: string;
  limitPrice: string | null;
  quantity: number;
}

export interface Order extends NewOrder {
  id: string;
  status: OrderStatus;
  createdAt: Date;
  placedAt: Date | null;
  rejectedAt: Date | null;
  rejectedReason: string | null;
  cancelledAt: Date | null;
}

export interface OrderEvent {
  status: OrderStatus;
  at: Date;
  reason: string | null;
}

/** The order as it travels to the workflow and the exchange: plain JSON, dates as ISO text. */
export interface OrderTicket extends NewOrder {
  id: string;
  createdAt: string;
}

export function toTicket(order: Order): OrderTicket {
  return {
    id: order.id,
    type: order.type,
    side: order.side,
    instrument: order.instrument,
    limitPrice: order.limitPrice,
    quantity: order.quantity,
    createdAt: order.createdAt.toISOString(),
  };
}

const WORKFLOW_ID_PREFIX = 'order-';

/** One workflow per order: its id is derived from the order id, so a second start is refused. */
export function workflowIdFor(orderId: string): string {
  return `${WORKFLOW_ID_PREFIX}${orderId}`;
}

/** The order an order workflow places, from its id (the inverse of workflowIdFor); undefined for another workflow. */
export function orderIdOfWorkflow(workflowId: string | undefined): string | undefined {
  return workflowId?.startsWith(WORKFLOW_ID_PREFIX) ? workflowId.slice(WORKFLOW_ID_PREFIX.length) : undefined;
}
