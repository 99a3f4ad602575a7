import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { closedLoop, type LoadResult } from './load.js';
import { type Bench, type CpuUse, cpuMeter, queueFor } from './scenarios.js';

export interface FloorResult {
  /** Workflows started and completed in the measured loop. */
  workflows: number;
  seconds: number;
  perSecond: number;
  /** The Temporal server's CPU per workflow over that time (null against an external server). */
  temporalCpuMsPerWorkflow: number | null;
  runs: LoadResult;
  cpu: CpuUse;
}

const WORKFLOWS_PATH = fileURLToPath(new URL('./empty-workflow.ts', import.meta.url));
const SILENT = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/**
 * (e) The server's floor: workflows that do nothing, each started and awaited to its end in a
 * closed loop, on a queue one worker in this process polls. Any workflow costs the server at least
 * this; an order's workflow also claims, places and takes its terminal event.
 */
export async function limitEmptyWorkflow(bench: Bench): Promise<FloorResult> {
  const { profile, temporal } = bench;
  const taskQueue = queueFor('empty');
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: SILENT });
  const connection = await NativeConnection.connect({ address: bench.infra.temporalAddress });
  const worker = await Worker.create({ connection, taskQueue, workflowBundle });
  const running = worker.run();
  try {
    // Each task waits for its workflow's end: at most `connections` in flight, so the queue never
    // holds a backlog (which would cost the server more per task than a workflow itself does).
    const run = () => temporal.workflow.execute('emptyWorkflow', { workflowId: `empty-${randomUUID()}`, taskQueue });
    await closedLoop({ concurrency: profile.connections, durationS: profile.warmupS, task: run });
    const cpu = cpuMeter(bench, {});
    const runs = await closedLoop({ concurrency: profile.connections, durationS: profile.durationS, task: run });
    const used = cpu();
    const temporalCores = used.cores.temporal;
    return {
      workflows: runs.completed,
      seconds: runs.durationS,
      perSecond: runs.perSecond,
      temporalCpuMsPerWorkflow: temporalCores === undefined ? null : (temporalCores * 1000) / runs.perSecond,
      runs,
      cpu: used,
    };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}
