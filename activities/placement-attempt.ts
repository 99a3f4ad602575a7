import { ApplicationFailure } from '@temporalio/activity';
import type { OrderStatus, OrderTicket } from '../domain/order.js';
import { NON_RETRYABLE_EXCHANGE_ERRORS } from '../exchange/errors.js';
import type { ExchangeActivities, Placement } from './exchange-activities.js';
import type { OrderStoreActivities } from './order-store-activities.js';

/** The three steps a healthy order takes, each an activity of its own too (the fallback's). */
export type PlacementSteps = Pick<OrderStoreActivities, 'claimOrder' | 'markOrderPlaced'> & Pick<ExchangeActivities, 'placeAtExchange'>;

/** A step of claimPlaceAndRecord that failed and that a retry may fix: the workflow retries it alone. */
export interface PlacementStepFailure {
  step: 'exchange' | 'record';
  /** The failure's type (an ApplicationFailure's) or the error's name, and its message. */
  type: string;
  message: string;
}

/** What the placement's one local attempt did. */
export interface PlacementAttempt {
  /** What the claim found: 'placing' (claimed, by this attempt or an earlier run), or the status that ends the placement. */
  claimed: OrderStatus;
  /** The exchange's answer once it took the order; null when it was not asked (not claimed) or its call failed. */
  placement: Placement | null;
  /** Whether the placement was recorded (placing -> placed). */
  recorded: boolean;
  failure?: PlacementStepFailure;
}

/**
 * claimPlaceAndRecord: a healthy order's three steps (the claim, the exchange call, recording the
 * placement) as ONE local activity, so that the order costs the worker one local activity and one
 * workflow activation where it cost three of each (docs/benchmarks.md, issue #24). Each step is
 * the very activity function the workflow otherwise schedules, called in turn.
 * - A step that fails with an error no retry can fix fails the attempt with it, as that step's own
 *   activity would have failed.
 * - The exchange call or the record failing otherwise ends the attempt with what was done and the
 *   failure: the workflow then runs that step's scheduled activity (with its retries), exactly as
 *   after that step's own failed local attempt, so the exchange sees no extra call.
 * - The claim failing otherwise fails the attempt: the workflow takes the steps one by one from
 *   the claim (which finds an order it claimed already `placing`).
 */
export function createPlacementAttempt(steps: PlacementSteps) {
  return {
    async claimPlaceAndRecord(ticket: OrderTicket): Promise<PlacementAttempt> {
      const claimed = await steps.claimOrder(ticket.id);
      if (claimed !== 'placing') return { claimed, placement: null, recorded: false };
      let placement: Placement;
      try {
        placement = await steps.placeAtExchange(ticket);
      } catch (error) {
        return { claimed, placement: null, recorded: false, failure: retryableFailure('exchange', error) };
      }
      try {
        await steps.markOrderPlaced(ticket.id, ticket.createdAt, placement.expiresAt);
      } catch (error) {
        return { claimed, placement, recorded: false, failure: retryableFailure('record', error) };
      }
      return { claimed, placement, recorded: true };
    },
  };
}

export type PlacementAttemptActivities = ReturnType<typeof createPlacementAttempt>;

/**
 * The failure of a step a retry may fix; rethrows one it cannot: a non-retryable ApplicationFailure,
 * or an exchange error of a type the exchange's retry policy does not retry.
 */
function retryableFailure(step: PlacementStepFailure['step'], error: unknown): PlacementStepFailure {
  if (error instanceof ApplicationFailure && error.nonRetryable) throw error;
  const type = error instanceof ApplicationFailure && error.type ? error.type : error instanceof Error ? error.name : 'Error';
  if (step === 'exchange' && NON_RETRYABLE_EXCHANGE_ERRORS.includes(type)) throw error;
  return { step, type, message: error instanceof Error ? error.message : String(error) };
}
