import { z } from 'zod';
import { isPrice } from '../domain/decimal.js';
import { ORDER_SIDES, ORDER_TYPES, TIME_IN_FORCE } from '../domain/order.js';

// The venue's wire protocol, defined once (docs/executions.md): TCP, one JSON object per line.
// The venue, the worker's order-entry client and the ingestion process all parse with these.

/** The longest line either side accepts; a longer one is a protocol error. */
export const MAX_LINE_BYTES = 64 * 1024;
/** The venue's name in execution reports and in the service's tables. */
export const VENUE_NAME = 'SIMX';

const price = z.string().refine(isPrice, 'must be a decimal with at most 4 decimals');
const averagePrice = z.string().regex(/^\d{1,16}\.\d{6}$/, 'must be a decimal with exactly 6 decimals');
const quantity = z.number().int().min(0).max(2_147_483_647);
const uuid = z.uuid();
const reqId = z.string().min(1).max(64);
const seq = z.number().int().min(1);

export const venueOrder = z.object({
  id: uuid,
  type: z.enum(ORDER_TYPES),
  side: z.enum(ORDER_SIDES),
  instrument: z.string().min(1).max(12),
  limit_price: price.nullable(),
  /** A stop's trigger price; absent in tickets of orders placed before stops existed. */
  stop_price: price.nullable().optional(),
  quantity: quantity.min(1),
  time_in_force: z.enum(TIME_IN_FORCE),
});
export type VenueOrder = z.infer<typeof venueOrder>;

// --- Order entry -------------------------------------------------------------------------

export const newOrderMessage = z.object({ type: z.literal('new_order'), req_id: reqId, order: venueOrder });
export const cancelOrderMessage = z.object({
  type: z.literal('cancel_order'),
  req_id: reqId,
  order_id: uuid,
  reason: z.enum(['cancel', 'expire']),
});

export const NEW_ORDER_RESULTS = ['accepted', 'duplicate', 'refused'] as const;
export const newOrderResult = z.object({
  type: z.literal('new_order_result'),
  req_id: reqId,
  order_id: uuid,
  result: z.enum(NEW_ORDER_RESULTS),
  expires_at: z.iso.datetime().nullable(),
});
export type NewOrderResult = z.infer<typeof newOrderResult>;

export const CANCEL_OUTCOMES = ['cancelled', 'expired', 'filled', 'rejected'] as const;
export type CancelOutcome = (typeof CANCEL_OUTCOMES)[number];
export const cancelOrderResult = z.object({
  type: z.literal('cancel_order_result'),
  req_id: reqId,
  order_id: uuid,
  outcome: z.enum(CANCEL_OUTCOMES),
  cum_qty: quantity,
});
export type CancelOrderResult = z.infer<typeof cancelOrderResult>;

/**
 * Amends a working order, FIX cancel/replace style (OrderCancelReplaceRequest): the venue applies
 * the given fields atomically against its book, or refuses them all. The order keeps its id, its
 * fills and its cum; its leaves become the new quantity less the cum. `stop_price` only for a stop
 * order the venue still holds (not triggered): the new stop price is checked against the
 * instrument's price at once, as at acceptance.
 */
export const replaceOrderMessage = z.object({
  type: z.literal('replace_order'),
  req_id: reqId,
  order_id: uuid,
  quantity: quantity.min(1).optional(),
  limit_price: price.optional(),
  stop_price: price.optional(),
  time_in_force: z.enum(TIME_IN_FORCE).optional(),
});
export type ReplaceOrderMessage = z.infer<typeof replaceOrderMessage>;

/**
 * Why the venue refused a replace: the order is not working there (final, or never got), the
 * new quantity is not above what is already filled (the replace lost a race with a fill), or a
 * limit price was asked of a market order, a stop price of an order that is no stop, or a stop price
 * of a stop already triggered (the replace lost a race with the trigger).
 */
export const REPLACE_REFUSALS = [
  'unknown_order',
  'not_working',
  'quantity_not_above_filled',
  'limit_price_not_for_market',
  'stop_price_not_for_type',
  'already_triggered',
] as const;
export type ReplaceRefusal = (typeof REPLACE_REFUSALS)[number];
export const replaceOrderResult = z.object({
  type: z.literal('replace_order_result'),
  req_id: reqId,
  order_id: uuid,
  outcome: z.enum(['replaced', 'refused']),
  reason: z.enum(REPLACE_REFUSALS).nullable(),
  /** The order at the venue after the request (replaced or not); null fields for an order the venue does not know. */
  order_status: z.enum(['new', 'partially_filled', 'filled', 'cancelled', 'expired', 'rejected']).nullable(),
  cum_qty: quantity,
  quantity: quantity.nullable(),
  limit_price: price.nullable(),
  /** The stop price (null for an order that is no stop); absent from a venue of the version before. */
  stop_price: price.nullable().optional(),
  time_in_force: z.enum(TIME_IN_FORCE).nullable(),
  expires_at: z.iso.datetime().nullable(),
});
export type ReplaceOrderResult = z.infer<typeof replaceOrderResult>;

export const VENUE_ERRORS = ['OrderPlacementError', 'MissingOrderError', 'BadRequest'] as const;
export const errorMessage = z.object({
  type: z.literal('error'),
  req_id: reqId.optional(),
  error: z.enum(VENUE_ERRORS),
  message: z.string(),
});
export type ErrorMessage = z.infer<typeof errorMessage>;

// --- Execution session -------------------------------------------------------------------

export const logonMessage = z.object({ type: z.literal('logon'), session: z.string().min(1).max(64), next_seq: seq });
export const logonAck = z.object({ type: z.literal('logon_ack'), session: z.string(), next_seq: seq });
export const resendRequest = z.object({ type: z.literal('resend_request'), from_seq: seq, to_seq: seq });
export const heartbeat = z.object({ type: z.literal('heartbeat'), next_seq: seq });

/**
 * `triggered`: a stop order's price was reached and the venue works it from now on as a market or
 * limit order (no quantity; `last_px` is the price that triggered it; the order's status stays).
 */
export const EXEC_TYPES = [
  'new',
  'triggered',
  'partial_fill',
  'fill',
  'cancelled',
  'expired',
  'rejected',
  'trade_bust',
  'replaced',
] as const;
export type ExecType = (typeof EXEC_TYPES)[number];
export const VENUE_ORDER_STATUSES = ['new', 'partially_filled', 'filled', 'cancelled', 'expired', 'rejected'] as const;
export type VenueOrderStatus = (typeof VENUE_ORDER_STATUSES)[number];
/** Statuses a venue order never leaves. */
export const VENUE_TERMINAL_STATUSES: readonly VenueOrderStatus[] = ['filled', 'cancelled', 'expired', 'rejected'];

export const executionReport = z.object({
  type: z.literal('execution_report'),
  seq,
  poss_dup: z.boolean(),
  venue: z.string().min(1).max(16),
  exec_id: z.string().min(1).max(64),
  order_id: uuid,
  exec_type: z.enum(EXEC_TYPES),
  order_status: z.enum(VENUE_ORDER_STATUSES),
  side: z.enum(['buy', 'sell']),
  last_qty: quantity,
  last_px: price.nullable(),
  cum_qty: quantity,
  leaves_qty: quantity,
  avg_px: averagePrice.nullable(),
  transact_time: z.iso.datetime(),
  ref_exec_id: z.string().min(1).max(64).nullable(),
  text: z.string().max(500).nullable(),
  // A `replaced` report's order as amended (the other reports leave them out): its quantity
  // (cum_qty + leaves_qty while it works), limit price, stop price and time in force, and when
  // the venue expires it now (null: not before it ends; a `day` order's close). Reports of the
  // version before lack stop_price and expires_at.
  order_qty: quantity.min(1).optional(),
  limit_price: price.nullable().optional(),
  stop_price: price.nullable().optional(),
  time_in_force: z.enum(TIME_IN_FORCE).optional(),
  expires_at: z.iso.datetime().nullable().optional(),
});
export type ExecutionReport = z.infer<typeof executionReport>;

/**
 * Order entry, a test hook of the simulation: this connection's failure rate and latency instead
 * of the venue's (EXCHANGE_FAILURE_RATE, EXCHANGE_LATENCY_MS), so one venue serves tests that
 * each need their own. No answer; it applies to the requests after it on the connection.
 * `first_attempt_fails`: the first new_order of each order id fails (OrderPlacementError), later
 * ones do not on that account, so that benches and tests get one retry per order, deterministically.
 */
export const entryOptionsMessage = z.object({
  type: z.literal('entry_options'),
  failure_rate: z.number().min(0).max(1).optional(),
  latency_ms: z.number().int().min(0).max(600_000).optional(),
  first_attempt_fails: z.boolean().optional(),
});

/** What a client of the venue may send. */
export const clientMessage = z.discriminatedUnion('type', [
  newOrderMessage,
  cancelOrderMessage,
  replaceOrderMessage,
  entryOptionsMessage,
  logonMessage,
  resendRequest,
]);
export type ClientMessage = z.infer<typeof clientMessage>;

/** What the venue may send. */
export const venueMessage = z.discriminatedUnion('type', [
  newOrderResult,
  cancelOrderResult,
  replaceOrderResult,
  errorMessage,
  logonAck,
  heartbeat,
  executionReport,
]);
export type VenueMessage = z.infer<typeof venueMessage>;

/** One message as a line of the wire. */
export function encodeLine(message: ClientMessage | VenueMessage): string {
  return `${JSON.stringify(message)}\n`;
}
