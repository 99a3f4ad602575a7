import { type Client, ScheduleNotFoundError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { staleOrderSweeperWorkflow } from '../workflows/sweep-workflow.js';

/** The sweeper's workflow id on a task queue (also the id of the Schedule that ran it before). */
export function sweeperWorkflowId(taskQueue: string): string {
  return `sweep-stale-orders-${taskQueue}`;
}

// About 17 history events a sweep: 400 keep a run near 7,000 events (Temporal warns at 10,240),
// a new run every 6.7 hours at one sweep a minute.
const SWEEPS_PER_RUN = 400;

/**
 * Makes sure the stale-order sweeper runs on this task queue. Every worker calls this at start;
 * the first starts it, the others find it running (USE_EXISTING); one that failed or was
 * terminated is started again. It replaces the Temporal Schedule earlier versions created, which
 * is deleted here.
 */
export async function ensureSweeper(
  client: Client,
  options: { taskQueue: string; intervalMs: number; staleAfterMs: number },
): Promise<void> {
  const workflowId = sweeperWorkflowId(options.taskQueue);
  await client.workflow.start<typeof staleOrderSweeperWorkflow>('staleOrderSweeperWorkflow', {
    workflowId,
    taskQueue: options.taskQueue,
    args: [{ staleAfterMs: options.staleAfterMs, intervalMs: options.intervalMs, sweepsPerRun: SWEEPS_PER_RUN }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    staticSummary: `stale-order sweep every ${options.intervalMs / 1000} s`,
  });
  try {
    await client.schedule.getHandle(workflowId).delete();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
}
