/**
 * The order as the service knows it, independent of HTTP, Prisma and Temporal.
 *
 * Status transitions, each a conditional UPDATE, so of two actors racing exactly one wins:
 *   pending  -> accepted  by the API, once Temporal acknowledged the order's workflow (a record
 *                         for readers, not the decision: the acknowledged start is what
 *                         guarantees the placement, and the API answers 201 after it)
 *   pending  -> rejected  by the API when it cannot confirm the start, or by the stale-order
 *                         sweep when the request that stored it ended without starting its
 *                         workflow (process died): the order will never be placed
 *   pending | accepted -> placing  by the order's workflow, right before it calls the exchange;
 *                         racing the API's rejection, exactly one of the two wins
 *   accepted | placing -> cancelled by the order's workflow, on a client's cancel, once no
 *                         exchange call succeeded and the exchange confirmed it never got the order
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

/** Statuses from which the order's workflow may claim it for placement. */
export const CLAIMABLE_STATUSES = ['pending', 'accepted'] as const satisfies readonly OrderStatus[];
/** Statuses in which an order's workflow runs or has run: its placement is guaranteed or done. */
export const STARTED_STATUSES: readonly OrderStatus[] = ['accepted', 'placing', 'placed', 'cancelled'];

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

/** One workflow per order: its id is derived from the order id, so a second start is refused. */
export function workflowIdFor(orderId: string): string {
  return `order-${orderId}`;
}
