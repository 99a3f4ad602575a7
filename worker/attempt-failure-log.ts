import type { Context as ActivityContext } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { PlacementStepFailure } from '../activities/placement-attempt.js';

/** An ApplicationFailure's type, or the error's name. */
export function failureType(error: unknown): string {
  const type = (error as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : error instanceof Error ? error.name : 'unknown';
}

/**
 * One WARN line per failed attempt, instead of the SDK's 'Activity failed' with the whole stack
 * (kept at debug, worker/temporal-logger.ts): the line carries orderId, attempt, activityType and
 * workflowId (the activity's log attributes), and the reason. A cancel the workflow asked for is
 * no failure.
 */
export function logAttemptFailed(ctx: ActivityContext, error: unknown, atExchange: boolean): void {
  if (error instanceof CancelledFailure && ctx.cancellationSignal.aborted) return;
  const message = error instanceof Error ? error.message : String(error);
  ctx.log.warn(atExchange ? 'exchange attempt failed' : 'activity attempt failed', { reason: failureType(error), message });
}

/** A step claimPlaceAndRecord reports failed, logged as that step's own failed attempt would be. */
export function logStepFailed(ctx: ActivityContext, failure: PlacementStepFailure): void {
  ctx.log.warn(failure.step === 'exchange' ? 'exchange attempt failed' : 'activity attempt failed', {
    reason: failure.type,
    message: failure.message,
  });
}
