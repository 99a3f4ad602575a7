import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FinalStatus, OrderStatus } from '../domain/order.js';

// The order workflow's messages, defined once: the workflow sets their handlers, the API sends
// them. This module loads no activity proxies, so the API can import it outside the sandbox.

export type { FinalStatus };

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
 */
export const cancelOrderUpdate = defineUpdate<FinalStatus>('cancelOrder');

/** An order's terminal event at the venue, as the ingestion process committed it. */
export interface TerminalEvent {
  status: FinalStatus;
  filledQuantity: number;
}

/**
 * The ingestion process's relay of an order's terminal event (filled, cancelled, expired,
 * rejected by the venue), sent once it is committed, with the update id `terminalUpdateId`:
 * Temporal refuses a second Update of the same id, so a relay that repeats is harmless.
 */
export const orderTerminalUpdate = defineUpdate<void, [TerminalEvent]>('orderTerminal');

export function terminalUpdateId(orderId: string): string {
  return `terminal-${orderId}`;
}
