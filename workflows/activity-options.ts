import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_EXCHANGE_ERRORS } from '../exchange/errors.js';

// The options of the workflows' activities: the exchange's calls and the database steps.

/**
 * How the workflow calls the exchange (placeAtExchange, cancelAtExchange): until it succeeds,
 * with exponential backoff capped at maximumInterval, and no attempt limit. Only errors that no
 * retry can fix stop it.
 * Attempt n (1-based) waits min(initialInterval * backoffCoefficient^(n-1), maximumInterval)
 * after attempt n failed.
 */
export const EXCHANGE_ACTIVITY: ActivityOptions = {
  // One call takes 0.5 s; a worker that dies mid-call is noticed after this long.
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: [...NON_RETRYABLE_EXCHANGE_ERRORS],
  },
};

/** The workflows' database steps (the order store's, the sweep's): also retried without limit, so an outage only delays. */
export const DATABASE_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
  },
};

// A healthy order's steps run as local activities inside one workflow task: one attempt each,
// bounded so that claim + exchange call + recording the placement stay well inside the task's
// 10 s timeout (the SDK heartbeats a task at 80% of it, and a message delivered into a task
// whose local activity is still running is the case the SDK replays least reliably). A step
// that fails or runs out of this time falls back to its scheduled activity, with the unlimited
// retries above.

/** One local attempt of a database step (each is one conditional UPDATE, milliseconds when healthy). */
export const DATABASE_LOCAL_ATTEMPT: LocalActivityOptions = {
  startToCloseTimeout: '2 seconds',
  retry: { maximumAttempts: 1 },
};

/** One local attempt of the exchange call (0.5 s at the defaults). */
export const EXCHANGE_LOCAL_ATTEMPT: LocalActivityOptions = {
  startToCloseTimeout: '3 seconds',
  retry: { maximumAttempts: 1 },
  // As the scheduled call: a cancel waits for an attempt in flight to end.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

/**
 * One local attempt of a healthy order's three steps at once (claimPlaceAndRecord): the sum of
 * the three attempts' bounds above, so that the placement still ends well inside its workflow task.
 */
export const PLACEMENT_LOCAL_ATTEMPT: LocalActivityOptions = {
  startToCloseTimeout: '7 seconds',
  retry: { maximumAttempts: 1 },
  // As the exchange call's: a cancel waits for the attempt to end.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};

/**
 * An amend's call of the venue (amendAtExchange): as the other exchange calls, retried until it
 * succeeds (the venue's replace is idempotent: a retry after a lost answer changes nothing more),
 * so an amend the API answered 202 is decided once the venue is back. Its own set so that its
 * policy can change apart from the placement's.
 */
export const AMEND_ACTIVITY: ActivityOptions = { ...EXCHANGE_ACTIVITY };
