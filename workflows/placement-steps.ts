import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  type CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { ExchangeActivities, Placement, VenueCancel } from '../activities/exchange-activities.js';
import type { OrderStoreActivities } from '../activities/order-store-activities.js';
import type { PlacementAttempt, PlacementAttemptActivities } from '../activities/placement-attempt.js';
import type { OrderStatus, OrderTicket } from '../domain/order.js';
import type { ReplaceAnswer } from '../exchange/exchange.js';
import type { AmendOutcome } from '../temporal/messages.js';
import {
  AMEND_ACTIVITY,
  DATABASE_ACTIVITY,
  DATABASE_LOCAL_ATTEMPT,
  EXCHANGE_ACTIVITY,
  EXCHANGE_LOCAL_ATTEMPT,
  PLACEMENT_LOCAL_ATTEMPT,
} from './activity-options.js';

// The order workflow's steps, as each version of the workflow takes them (order-workflow.ts
// decides which from the history's patches).

const scheduledDatabaseSteps = proxyActivities<OrderStoreActivities>(DATABASE_ACTIVITY);
// The order store's steps as local activities: they run inside the workflow task that needs them
// and are recorded as one marker event, instead of a scheduled/started/completed triple and a
// workflow task of their own. That halves the Temporal round trips of an order (measured in
// docs/benchmarks.md). Histories started before this change keep replaying on scheduled ones.
const localDatabaseSteps = proxyLocalActivities<OrderStoreActivities>(DATABASE_ACTIVITY);
const localAttempt = {
  database: proxyLocalActivities<OrderStoreActivities>(DATABASE_LOCAL_ATTEMPT),
  exchange: proxyLocalActivities<ExchangeActivities>(EXCHANGE_LOCAL_ATTEMPT),
  placement: proxyLocalActivities<PlacementAttemptActivities>(PLACEMENT_LOCAL_ATTEMPT),
};
// The exchange's calls are scheduled activities, with the exchange's policy (cancelAtExchange had
// the database steps' until now: no patch needed, replay compares commands, not their options).
const { placeAtExchange } = proxyActivities<ExchangeActivities>({
  ...EXCHANGE_ACTIVITY,
  // On cancel, wait for an attempt in flight to finish: if it reached the exchange, the order
  // is placed and the cancel is refused; only a call that certainly ended lets the cancel win.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
export const { cancelAtExchange } = proxyActivities<ExchangeActivities>(EXCHANGE_ACTIVITY);
export const { amendAtExchange } = proxyActivities<ExchangeActivities>(AMEND_ACTIVITY);

/** The workflow's decision on an amend, from the venue's answer to its replace (pure). */
export function amendOutcome(answer: ReplaceAnswer): AmendOutcome {
  if (answer.outcome === 'replaced' && answer.quantity !== null && answer.timeInForce !== null) {
    return {
      outcome: 'amended',
      quantity: answer.quantity,
      limitPrice: answer.limitPrice,
      stopPrice: answer.stopPrice ?? null,
      timeInForce: answer.timeInForce,
      filledQuantity: answer.cumQty,
      expiresAt: answer.expiresAt,
    };
  }
  switch (answer.reason) {
    case 'quantity_not_above_filled':
      return {
        outcome: 'refused',
        reason: 'quantity_not_above_filled',
        message: `the new quantity is not above the ${answer.cumQty} already filled at the venue (the amend lost a race with a fill)`,
        filledQuantity: answer.cumQty,
      };
    case 'limit_price_not_for_market':
      return {
        outcome: 'refused',
        reason: 'limit_price_not_for_market',
        message: 'a limit price is only for a limit order',
        filledQuantity: answer.cumQty,
      };
    case 'already_triggered':
      return {
        outcome: 'refused',
        reason: 'already_triggered',
        message:
          'the stop has already triggered at the venue: its stop price cannot change any more (the amend lost a race with the trigger)',
        filledQuantity: answer.cumQty,
      };
    case 'stop_price_not_for_type':
      return {
        outcome: 'refused',
        reason: 'stop_price_not_for_type',
        message: 'a stop price is only for a stop or stop_limit order',
        filledQuantity: answer.cumQty,
      };
    case 'unknown_order':
      return { outcome: 'refused', reason: 'unknown_order', message: 'the venue does not know the order', filledQuantity: null };
    default:
      return {
        outcome: 'refused',
        reason: 'final',
        message: `the order is no longer working at the venue (${answer.status ?? 'ended'}; the amend lost a race with its end)`,
        filledQuantity: answer.cumQty,
      };
  }
}

/** Which version's steps: from the workflow's patches. */
export interface StepsVersion {
  /** placement-in-one-workflow-task (or later): each step one local attempt, then its scheduled activity. */
  inOneTask: boolean;
  /** search-attributes-at-start (or later): recording the placement was a scheduled activity until inOneTask. */
  attributesAtStart: boolean;
  /** database-steps-as-local-activities (or later): the database steps as local activities with retries. */
  localDatabaseSteps: boolean;
}

export interface PlacementSteps {
  claimOrder(orderId: string): Promise<OrderStatus>;
  markOrderCancelled(orderId: string): Promise<void>;
  markOrderPlaced: OrderStoreActivities['markOrderPlaced'];
  placeOrder(ticket: OrderTicket): Promise<Placement>;
  /** The scheduled activities alone, for a step whose local attempt was claimPlaceAndRecord's. */
  scheduled: { placeAtExchange(ticket: OrderTicket): Promise<Placement>; markOrderPlaced: OrderStoreActivities['markOrderPlaced'] };
}

export function placementSteps(version: StepsVersion): PlacementSteps {
  const steps = version.localDatabaseSteps ? localDatabaseSteps : scheduledDatabaseSteps;
  const scheduled = { placeAtExchange, markOrderPlaced: scheduledDatabaseSteps.markOrderPlaced };
  if (!version.inOneTask) {
    // Before placement-in-one-workflow-task, recording the placement was a scheduled activity in
    // search-attributes-at-start's histories: the venue's terminal event is often relayed (an
    // Update) while this step runs, and with a local activity of unbounded retries the step could
    // outlast its workflow task, the Update be delivered into the next one, and a replay meet the
    // two in another order than the run did (a nondeterminism error, seen under load). Bounded
    // local attempts keep the whole placement inside one task (activity-options.ts).
    return {
      claimOrder: steps.claimOrder,
      markOrderCancelled: steps.markOrderCancelled,
      markOrderPlaced: version.attributesAtStart ? scheduledDatabaseSteps.markOrderPlaced : steps.markOrderPlaced,
      placeOrder: placeAtExchange,
      scheduled,
    };
  }
  return {
    claimOrder: (orderId) =>
      localFirst(
        () => localAttempt.database.claimOrder(orderId),
        () => scheduledDatabaseSteps.claimOrder(orderId),
      ),
    markOrderCancelled: (orderId) =>
      localFirst(
        () => localAttempt.database.markOrderCancelled(orderId),
        () => scheduledDatabaseSteps.markOrderCancelled(orderId),
      ),
    markOrderPlaced: (orderId, createdAt, expiresAt) =>
      localFirst(
        () => localAttempt.database.markOrderPlaced(orderId, createdAt, expiresAt),
        () => scheduledDatabaseSteps.markOrderPlaced(orderId, createdAt, expiresAt),
      ),
    placeOrder: (ticket) =>
      localFirst(
        () => localAttempt.exchange.placeAtExchange(ticket),
        () => placeAtExchange(ticket),
        EXCHANGE_ACTIVITY.retry?.nonRetryableErrorTypes,
      ),
    scheduled,
  };
}

/**
 * A healthy order's claim, exchange call and record as one local attempt (claimPlaceAndRecord),
 * in the exchange call's cancellation scope. Resolves with what it did (a step it reports failed
 * is then retried by its scheduled activity alone), or undefined when the steps must be taken one
 * by one from the claim: the attempt failed at the claim, ran out of time, or was cancelled (the
 * claim finds an order claimed already `placing`; the exchange answers a repeated order as placed).
 * An error no retry can fix ends it as that step's own attempt would have ended it.
 */
export async function placeInOneAttempt(
  ticket: OrderTicket,
  exchangeCall: CancellationScope,
  cancelRequested: () => boolean,
): Promise<PlacementAttempt | undefined> {
  try {
    return await exchangeCall.run(() => localAttempt.placement.claimPlaceAndRecord(ticket));
  } catch (error) {
    if (!cancelRequested() && !isCancellation(error) && isNonRetryable(error, EXCHANGE_ACTIVITY.retry?.nonRetryableErrorTypes ?? []))
      throw error;
    return undefined;
  }
}

/**
 * One local attempt of a step, then its scheduled activity if the attempt failed or timed out.
 * A cancel, and an error no retry can fix (non-retryable, or of a type the scheduled activity's
 * policy does not retry), end the step as they would end the scheduled activity.
 */
async function localFirst<R>(local: () => Promise<R>, scheduled: () => Promise<R>, nonRetryableTypes: readonly string[] = []): Promise<R> {
  try {
    return await local();
  } catch (error) {
    if (isCancellation(error) || isNonRetryable(error, nonRetryableTypes)) throw error;
    return scheduled();
  }
}

function isNonRetryable(error: unknown, nonRetryableTypes: readonly string[]): boolean {
  // A local activity's failure comes as the activity's own failure, a scheduled one's wrapped.
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return (
    failure instanceof ApplicationFailure &&
    (failure.nonRetryable === true || (failure.type !== undefined && failure.type !== null && nonRetryableTypes.includes(failure.type)))
  );
}

/**
 * Whether a cancel at the exchange won. Histories recorded before the venue process answered
 * 'cancelled' | 'already_placed'; they replay through this too.
 */
export function cancelWon(result: VenueCancel | 'cancelled' | 'already_placed'): boolean {
  return typeof result === 'string' ? result === 'cancelled' : result.outcome === 'cancelled';
}
