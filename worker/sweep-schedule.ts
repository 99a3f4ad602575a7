import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';

export function sweepScheduleId(taskQueue: string): string {
  return `sweep-stale-orders-${taskQueue}`;
}

/**
 * Makes sure the Temporal Schedule that runs the stale-order sweep exists. Every worker calls
 * this at start; the first creates it, the others find it there.
 */
export async function ensureSweepSchedule(
  client: Client,
  options: { taskQueue: string; intervalMs: number; staleAfterMs: number },
): Promise<void> {
  const scheduleId = sweepScheduleId(options.taskQueue);
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: options.intervalMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'sweepStaleOrdersWorkflow',
        workflowId: scheduleId,
        taskQueue: options.taskQueue,
        args: [options.staleAfterMs],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
}
