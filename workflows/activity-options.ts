import type { ActivityOptions } from '@temporalio/workflow';
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
