import type { Context as ActivityContext } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { PlacementAttempt } from '../activities/placement-attempt.js';
import { type OrderTicket, orderIdOfWorkflow } from '../domain/order.js';
import { EXCHANGE_ERRORS, PLACEMENT_FAILURES } from '../exchange/errors.js';

export interface WorkerMetrics {
  registry: Registry;
  placements: Counter;
  exchangeAttempts: Counter;
  exchangeFailures: Counter<'reason'>;
  placementLag: Histogram;
}

let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

// The exchange's failures as the activity reports them; anything else counts as 'other'.
const FAILURE_REASONS = new Set([...PLACEMENT_FAILURES, CancelledFailure.name]);

export function createWorkerMetrics(): WorkerMetrics {
  const own = new Registry();
  const placements = new Counter({
    name: 'order_placements_total',
    help: 'Orders marked placed by this worker (placing -> placed).',
    registers: [own],
  });
  const exchangeAttempts = new Counter({
    name: 'exchange_attempts_total',
    help: 'Calls of the exchange to place an order (every attempt, retries included).',
    registers: [own],
  });
  const exchangeFailures = new Counter({
    name: 'exchange_failures_total',
    help: 'Calls of the exchange to place an order that failed, by reason (the error type).',
    labelNames: ['reason'] as const,
    registers: [own],
  });
  const placementLag = new Histogram({
    name: 'order_placement_lag_seconds',
    help: "Time from an order's creation (created_at) to its placement (placed_at).",
    // One exchange call takes 0.5 s; retries back off from 1 s up to 2 minutes each.
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [own],
  });
  exchangeFailures.inc({ reason: EXCHANGE_ERRORS.OrderPlacementError }, 0);
  return { registry: Registry.merge([own, processMetrics()]), placements, exchangeAttempts, exchangeFailures, placementLag };
}

/** An ApplicationFailure's type, or the error's name. */
function failureType(error: unknown): string {
  const type = (error as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : error instanceof Error ? error.name : 'unknown';
}

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
  if (failure) {
    ctx.log.warn(failure.step === 'exchange' ? 'exchange attempt failed' : 'activity attempt failed', {
      reason: failure.type,
      message: failure.message,
    });
  }
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

/**
 * One WARN line per failed attempt, instead of the SDK's 'Activity failed' with the whole stack
 * (kept at debug, worker/temporal-logger.ts): the line carries orderId, attempt, activityType and
 * workflowId (the activity's log attributes), and the reason. A cancel the workflow asked for is
 * no failure.
 */
function logAttemptFailed(ctx: ActivityContext, error: unknown, atExchange: boolean): void {
  if (error instanceof CancelledFailure && ctx.cancellationSignal.aborted) return;
  const message = error instanceof Error ? error.message : String(error);
  ctx.log.warn(atExchange ? 'exchange attempt failed' : 'activity attempt failed', { reason: failureType(error), message });
}

function observeLag(metrics: WorkerMetrics, createdAt: string, placedAt: Date): void {
  const created = Date.parse(createdAt);
  // A malformed time is no reason to fail a placement; this observation is lost.
  if (Number.isFinite(created)) metrics.placementLag.observe(Math.max(0, (placedAt.getTime() - created) / 1000));
}
