import { proxyActivities } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/sweep-activities.js';
import { DATABASE_ACTIVITY } from './activity-options.js';

// A sweep that cannot finish is simply replaced by the next scheduled one.
const { rejectStaleOrders, deleteExpiredIdempotencyKeys } = proxyActivities<SweepActivities>({
  ...DATABASE_ACTIVITY,
  scheduleToCloseTimeout: '5 minutes',
});

export interface SweepResult {
  rejectedOrderIds: string[];
  expiredKeys: number;
}

/** Run by a Temporal Schedule: resolves orders whose request died before deciding them. */
export async function sweepStaleOrdersWorkflow(staleAfterMs: number): Promise<SweepResult> {
  const rejectedOrderIds = await rejectStaleOrders(staleAfterMs);
  const expiredKeys = await deleteExpiredIdempotencyKeys();
  return { rejectedOrderIds, expiredKeys };
}
