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
 *   placing  -> placed    by the order's workflow, once the exchange accepted the order, or by
 *                         the ingestion process from the venue's `new` report (whichever first)
 * After placement the venue works the order and its execution reports decide the rest, applied
 * by the ingestion process (docs/executions.md); the workflow asks for cancels and expiry:
 *   placing | placed | partially_filled -> partially_filled | filled      by ingestion, on fills
 *   placing | placed | partially_filled -> cancelled | expired | rejected by ingestion, on the
 *                         venue's cancel (a client's, with the filled part kept), expiry (a day
 *                         order at the close) or rejection
 * Every status an order takes is recorded with its time (table order_events, by a trigger).
 */
export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
/** Types whose order the venue holds until its instrument's price reaches `stopPrice`, then works as a market or limit order. */
export const STOP_ORDER_TYPES = ['stop', 'stop_limit'] as const satisfies readonly OrderType[];
/** Types that carry a limit price (a stop_limit's, once it triggers). */
export const LIMIT_ORDER_TYPES = ['limit', 'stop_limit'] as const satisfies readonly OrderType[];
export const ORDER_SIDES = ['buy', 'sell'] as const;
export const ORDER_STATUSES = [
  'pending',
  'accepted',
  'placing',
  'placed',
  'partially_filled',
  'filled',
  'rejected',
  'cancelled',
  'expired',
] as const;
export const TIME_IN_FORCE = ['day', 'gtc', 'ioc', 'fok'] as const;
export type TimeInForce = (typeof TIME_IN_FORCE)[number];
/**
 * Time in force that the venue decides at once when it works the order (a stop: when it
 * triggers): `ioc` fills what can fill and cancels the rest, `fok` fills all of it or cancels it.
 */
export const IMMEDIATE_TIME_IN_FORCE = ['ioc', 'fok'] as const satisfies readonly TimeInForce[];

export function isImmediate(timeInForce: TimeInForce): boolean {
  return (IMMEDIATE_TIME_IN_FORCE as readonly TimeInForce[]).includes(timeInForce);
}
export function isStopType(type: OrderType): boolean {
  return (STOP_ORDER_TYPES as readonly OrderType[]).includes(type);
}
export function hasLimitPrice(type: OrderType): boolean {
  return (LIMIT_ORDER_TYPES as readonly OrderType[]).includes(type);
}

export type OrderType = (typeof ORDER_TYPES)[number];

export type OrderSide = (typeof ORDER_SIDES)[number];
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Who may make a status change. */
export type Actor = 'api' | 'workflow' | 'sweep' | 'ingest';

/** Every status change an order may make, and who makes it (see the table above). */
export const TRANSITIONS: readonly { from: OrderStatus; to: OrderStatus; by: readonly Actor[] }[] = [
  { from: 'pending', to: 'accepted', by: ['api', 'sweep'] },
  { from: 'pending', to: 'rejected', by: ['api', 'sweep'] },
  { from: 'pending', to: 'placing', by: ['workflow'] },
  { from: 'accepted', to: 'placing', by: ['workflow'] },
  { from: 'accepted', to: 'cancelled', by: ['workflow'] },
  { from: 'placing', to: 'cancelled', by: ['workflow'] },
  { from: 'placing', to: 'placed', by: ['workflow', 'ingest'] },
  ...(['placing', 'placed', 'partially_filled'] as const).flatMap((from) =>
    (['partially_filled', 'filled', 'cancelled', 'expired', 'rejected'] as const)
      .filter((to) => to !== from)
      .map((to) => ({ from, to, by: ['ingest'] as const })),
  ),
];

export function isAllowedTransition(from: OrderStatus, to: OrderStatus, by?: Actor): boolean {
  return TRANSITIONS.some(
    (transition) => transition.from === from && transition.to === to && (by === undefined || transition.by.includes(by)),
  );
}

/** Statuses an order never leaves. */
export const FINAL_STATUSES = ['filled', 'rejected', 'cancelled', 'expired'] as const satisfies readonly OrderStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];
export function isFinal(status: OrderStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly OrderStatus[]).includes(status);
}

/** The statuses from which an order may change to `to` (by `by`, or by anyone), in the table's order. */
export function sourcesOf(to: OrderStatus, by?: Actor): OrderStatus[] {
  return TRANSITIONS.filter((transition) => transition.to === to && (by === undefined || transition.by.includes(by))).map(
    (transition) => transition.from,
  );
}

/** Statuses from which the order's workflow may claim it for placement. */
export const CLAIMABLE_STATUSES: readonly OrderStatus[] = sourcesOf('placing', 'workflow');
/**
 * Statuses in which a client's cancel is sent to the order's workflow: every status but a final
 * one ('pending' too: a 201 may have been answered although recording 'accepted' failed).
 */
export const CANCELLABLE_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((status) => !isFinal(status));
/** Statuses in which an order's workflow runs or has run: its placement is guaranteed or done. */
export const STARTED_STATUSES: readonly OrderStatus[] = [
  'accepted',
  'placing',
  'placed',
  'partially_filled',
  'filled',
  'cancelled',
  'expired',
];
/** Statuses of an order the venue has (or had) working: placed, and what its reports made of it. */
export const AT_VENUE_STATUSES: readonly OrderStatus[] = ['placed', 'partially_filled', 'filled', 'expired'];

/** What each status means, for readers (the OpenAPI document adds who moves it on, and whether it is final). */
export const STATUS_MEANINGS: Record<OrderStatus, string> = {
  pending: 'stored, while its request runs; never placed unless the API accepts it',
  accepted: 'its workflow runs (Temporal acknowledged it): it will be placed unless a cancel wins first. A 201 carries this status',
  placing: 'claimed by its workflow, which is calling the exchange',
  placed:
    'the exchange accepted it (`placed_at`) and works it; nothing filled yet. A `stop` or `stop_limit` order stays `placed` ' +
    'while the exchange holds it until its price reaches `stop_price` (the `triggered` event of `GET /events` says when it did)',
  partially_filled: 'the exchange filled part of it (`filled_quantity`, `average_fill_price`) and works the rest',
  filled: 'the exchange filled all of it (`filled_at`)',
  expired: 'a `day` order the exchange did not fill by its close (`expired_at`); what was filled stays filled',
  rejected:
    'it will never be placed (`rejected_reason`): the API could not confirm its workflow and answered 500, or its request ' +
    'died and the stale-order sweep rejected it',
  cancelled:
    'a client cancelled it (`DELETE /orders/{id}`, `cancelled_at`): before the exchange accepted it (never placed), or at the ' +
    'exchange for the quantity still open (what was filled stays filled); or the exchange cancelled what an `ioc` order could ' +
    'not fill at once (the filled part stays filled), or a `fok` order it could not fill whole at once (nothing filled)',
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

/** A validated order request. `limitPrice` and `stopPrice` are decimal strings, never floats. */
export interface NewOrder {
  type: OrderType;
  side: OrderSide;
  instrument: string;
  limitPrice: string | null;
  /**
   * A stop's trigger price (`stop`, `stop_limit`), null for other types. Optional: tickets of
   * workflows started before stops existed lack it.
   */
  stopPrice?: string | null;
  quantity: number;
  timeInForce: TimeInForce;
  /** The client's own id for the order (1–64 visible ASCII characters), unique per account. */
  clientOrderId?: string | null;
}

export interface Order extends NewOrder {
  id: string;
  /** The account that created it: only that account's requests see it. */
  accountId: string;
  clientOrderId: string | null;
  status: OrderStatus;
  createdAt: Date;
  placedAt: Date | null;
  rejectedAt: Date | null;
  rejectedReason: string | null;
  cancelledAt: Date | null;
  filledQuantity: number;
  /** Exact decimal text with 6 places (domain/decimal.ts), null while nothing is filled. */
  averageFillPrice: string | null;
  filledAt: Date | null;
  expiredAt: Date | null;
  expiresAt: Date | null;
}

/** The fields of an order that nothing has happened to yet. */
export const NOTHING_DECIDED = {
  placedAt: null,
  rejectedAt: null,
  rejectedReason: null,
  cancelledAt: null,
  filledQuantity: 0,
  averageFillPrice: null,
  filledAt: null,
  expiredAt: null,
  expiresAt: null,
} as const satisfies Partial<Order>;

export interface OrderEvent {
  status: OrderStatus;
  at: Date;
  reason: string | null;
  /** Who caused it: the key id of the client whose request it was (a cancel), or SYSTEM_ACTOR. */
  actor: string;
}

/** The order as it travels to the workflow and the exchange: plain JSON, dates as ISO text. */
export interface OrderTicket extends NewOrder {
  id: string;
  /** Absent in workflows started before accounts existed (their orders are the demo account's). */
  accountId?: string;
  createdAt: string;
}

export function toTicket(order: Order): OrderTicket {
  return {
    id: order.id,
    type: order.type,
    side: order.side,
    instrument: order.instrument,
    limitPrice: order.limitPrice,
    stopPrice: order.stopPrice ?? null,
    quantity: order.quantity,
    timeInForce: order.timeInForce,
    accountId: order.accountId,
    clientOrderId: order.clientOrderId,
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
