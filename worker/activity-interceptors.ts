import type { Context as ActivityContext } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { PlacementAttempt } from '../activities/placement-attempt.js';
import { type OrderTicket, orderIdOfWorkflow } from '../domain/order.js';
import { PLACEMENT_FAILURES } from '../exchange/errors.js';
import { failureType, logAttemptFailed, logStepFailed } from './attempt-failure-log.js';
import type { WorkerMetrics } from './metrics.js';

// The exchange's failures as the activity reports them; anything else counts as 'other'.
const FAILURE_REASONS = new Set([...PLACEMENT_FAILURES, CancelledFailure.name]);

function failureReason(error: unknown): string {
  const name = failureType(error);
  return FAILURE_REASONS.has(name) ? name : 'other';
}

function countPlacement(metrics: WorkerMetrics, createdAt: unknown): void {
  metrics.placements.inc();
  if (typeof createdAt === 'string') observeLag(metrics, createdAt, new Date());
}

/** What claimPlaceAndRecord did, counted and logged as the steps it took would have been. */
function countAttempt(ctx: ActivityContext, metrics: WorkerMetrics, ticket: OrderTicket, attempt: PlacementAttempt): void {
  if (attempt.claimed !== 'placing') return;
  metrics.exchangeAttempts.inc();
  const { failure } = attempt;
  if (failure?.step === 'exchange') {
    metrics.exchangeFailures.inc({ reason: FAILURE_REASONS.has(failure.type) ? failure.type : 'other' });
  }
  if (failure) logStepFailed(ctx, failure);
  if (attempt.recorded) countPlacement(metrics, ticket.createdAt);
}

/**
 * Activity interceptors: count exchange calls and their failures, count placements and observe
 * their lag (from the order's creation time, which the workflow passes to `markOrderPlaced` and
 * `claimPlaceAndRecord`), and add `orderId` to every line an activity logs (the SDK already adds
 * workflowId, activityType, …). claimPlaceAndRecord, a healthy order's three steps in one local
 * attempt, counts as the steps it took; a step it reports failed is logged as that step's own
 * attempt would be.
 */
export function activityInterceptors(metrics: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx: ActivityContext) => {
    const orderId = orderIdOfWorkflow(ctx.info.workflowExecution?.workflowId);
    return {
      inbound: {
        async execute(input, next) {
          const type = ctx.info.activityType;
          if (type === 'placeAtExchange') metrics.exchangeAttempts.inc();
          try {
            const result = await next(input);
            if (type === 'markOrderPlaced') countPlacement(metrics, input.args[1]);
            if (type === 'claimPlaceAndRecord') countAttempt(ctx, metrics, input.args[0] as OrderTicket, result as PlacementAttempt);
            return result;
          } catch (error) {
            // claimPlaceAndRecord throws the claim's failures and the errors no retry can fix, the exchange's among them.
            const atExchange =
              type === 'placeAtExchange' || (type === 'claimPlaceAndRecord' && PLACEMENT_FAILURES.includes(failureType(error)));
            if (type === 'claimPlaceAndRecord' && atExchange) metrics.exchangeAttempts.inc();
            if (atExchange) metrics.exchangeFailures.inc({ reason: failureReason(error) });
            logAttemptFailed(ctx, error, atExchange);
            throw error;
          }
        },
      },
      outbound: orderId ? { getLogAttributes: (attributes, next) => next({ ...attributes, orderId }) } : {},
    };
  };
}

function observeLag(metrics: WorkerMetrics, createdAt: string, placedAt: Date): void {
  const created = Date.parse(createdAt);
  // A malformed time is no reason to fail a placement; this observation is lost.
  if (Number.isFinite(created)) metrics.placementLag.observe(Math.max(0, (placedAt.getTime() - created) / 1000));
}
