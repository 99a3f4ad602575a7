import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FinalStatus, OrderStatus, OrderTicket, TimeInForce } from '../domain/order.js';

// The order workflow's messages, defined once: the workflow sets their handlers, the API sends
// them. This module loads no activity proxies, so the API can import it outside the sandbox.

export type { FinalStatus };

export interface PlacementOutcome {
  orderId: string;
  /** The order's final status; `placed` for a workflow from before orders were followed to the end. */
  status: FinalStatus | 'placed';
}

/** The order workflow's signature, so that a client types its start and handles without loading the workflow code. */
export type PlaceOrderWorkflow = (ticket: OrderTicket) => Promise<PlacementOutcome>;

/** The workflow's live view of its order: the same status the database holds once a step completed. */
export const orderStatusQuery = defineQuery<OrderStatus>('orderStatus');

/**
 * A client's cancel, recorded durably in the workflow's history the moment Temporal accepts the
 * signal, whether or not a worker runs the workflow then.
 */
export const cancelRequestedSignal = defineSignal('cancelRequested');

/**
 * A client's cancel that waits for the decision: resolves with the order's final status,
 * 'cancelled' if the cancel won. Sent after cancelRequestedSignal, it only waits.
 * No longer sent (the API waits for the workflow's result instead, see orderTerminalSignal for
 * why); the workflow keeps its handler for APIs of the version before during a rolling deploy.
 */
export const cancelOrderUpdate = defineUpdate<FinalStatus>('cancelOrder');

/** An order's terminal event at the venue, as the ingestion process committed it. */
export interface TerminalEvent {
  status: FinalStatus;
  filledQuantity: number;
}

/**
 * The ingestion process's relay of an order's terminal event (filled, cancelled, expired,
 * rejected by the venue), sent once it is committed. A signal, recorded in the workflow's history
 * the moment Temporal accepts it, whether a worker runs the workflow then or not; a relay that
 * repeats adds a second one, which the workflow ignores (the first terminal event wins).
 *
 * Not an Update: an Update is not an event until a worker accepts it, and one delivered while the
 * workflow task runs local activities (the placement's steps) could be replayed at another point
 * of the workflow than where it ran: a nondeterminism error when the history is replayed (a query
 * on an evicted or completed workflow, a worker restart), seen in CI. A signal is an event in
 * history between workflow tasks: a replay meets it exactly where the run did.
 */
export const orderTerminalSignal = defineSignal<[TerminalEvent]>('orderTerminalReported');

/**
 * The relay of the version before, as an Update with the update id `terminalUpdateId`. No longer
 * sent; the workflow keeps its handler for histories that have it and for an ingestion process of
 * the version before during a rolling deploy.
 */
export const orderTerminalUpdate = defineUpdate<void, [TerminalEvent]>('orderTerminal');

/**
 * A client's amend (PATCH /orders/{id}): the fields to change, at least one (`stopPrice` only
 * for a stop order the venue still holds). Fields added later are optional: an Update of an
 * older API (or in an older history) simply lacks them.
 */
export interface AmendRequest {
  quantity?: number;
  limitPrice?: string;
  stopPrice?: string;
  timeInForce?: TimeInForce;
}

/**
 * The workflow's decision on an amend: `amended` with the order at the venue as amended (its
 * quantity, limit and stop price, time in force and expiry, and the cum filled when it was), or
 * `refused` naming why: the order is final (or being cancelled), not yet working at the venue,
 * or the venue refused the replace (a new quantity not above what is already filled: the amend
 * lost a race with a fill; a stop price of a stop already triggered: it lost a race with the
 * trigger; a limit price for a market order, a stop price for an order that is no stop).
 */
export type AmendOutcome =
  | {
      outcome: 'amended';
      quantity: number;
      limitPrice: string | null;
      /** Absent from outcomes recorded before stop prices were amendable. */
      stopPrice?: string | null;
      timeInForce: TimeInForce;
      filledQuantity: number;
      expiresAt: string | null;
    }
  | { outcome: 'refused'; reason: AmendRefusal; message: string; filledQuantity: number | null };

export const AMEND_REFUSALS = [
  'final',
  'not_working_yet',
  'cancel_requested',
  'quantity_not_above_filled',
  'limit_price_not_for_market',
  'stop_price_not_for_type',
  'already_triggered',
  'unknown_order',
] as const;
export type AmendRefusal = (typeof AMEND_REFUSALS)[number];

/**
 * A client's amend, decided by the order's workflow: an Update, so the request and its outcome
 * are events of the workflow's history (the Web UI shows them), and the API waits for the
 * outcome. Its validator refuses, before anything is recorded, an amend of an order the
 * workflow has not placed yet or has seen end (the API then answers 409): the handler only runs
 * while the workflow waits for its placed order's end, never during the placement's local
 * activities (the case messages.ts's terminal signal avoids an Update for).
 */
export const amendOrderUpdate = defineUpdate<AmendOutcome, [AmendRequest]>('amendOrder');

export function terminalUpdateId(orderId: string): string {
  return `terminal-${orderId}`;
}
