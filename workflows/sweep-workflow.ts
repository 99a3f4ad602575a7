import { continueAsNew, log, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/sweep-activities.js';
import { DATABASE_ACTIVITY } from './activity-options.js';

// A sweep that cannot finish is simply replaced by the next one.
const { rejectStaleOrders, deleteExpiredIdempotencyKeys } = proxyActivities<SweepActivities>({
  ...DATABASE_ACTIVITY,
  scheduleToCloseTimeout: '5 minutes',
});

export interface SweepResult {
  rejectedOrderIds: string[];
  expiredKeys: number;
}

/** One sweep: resolves orders whose request died before deciding them, and drops expired idempotency keys. */
export async function sweepStaleOrdersWorkflow(staleAfterMs: number): Promise<SweepResult> {
  const rejectedOrderIds = await rejectStaleOrders(staleAfterMs);
  const expiredKeys = await deleteExpiredIdempotencyKeys();
  return { rejectedOrderIds, expiredKeys };
}

export interface SweeperInput {
  staleAfterMs: number;
  intervalMs: number;
  /** Sweeps before the workflow continues as new with a fresh history (each adds about 17 events). */
  sweepsPerRun: number;
}

/**
 * The stale-order sweep of one task queue, as one long-running workflow with a fixed id (every
 * worker starts it, the first one wins: worker/sweeper.ts): a sweep, then a durable timer, again
 * and again. A Temporal Schedule did the same but started a workflow per sweep, 1,440 a day in
 * the Web UI's list between the orders; this one shows as one running workflow, plus one closed
 * run per `sweepsPerRun` sweeps. Temporal runs it on whichever worker is alive, one sweep at a
 * time (the next starts `intervalMs` after the previous ended).
 */
export async function staleOrderSweeperWorkflow(input: SweeperInput): Promise<never> {
  for (let sweeps = 0; sweeps < input.sweepsPerRun && !workflowInfo().continueAsNewSuggested; sweeps += 1) {
    try {
      await sweepStaleOrdersWorkflow(input.staleAfterMs);
    } catch (error) {
      // Past its schedule-to-close timeout (a long database outage): the next sweep tries again.
      log.warn('stale-order sweep did not finish', { error });
    }
    await sleep(input.intervalMs);
  }
  return continueAsNew<typeof staleOrderSweeperWorkflow>(input);
}
