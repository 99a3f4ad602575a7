import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workflows/path.js';

// The suite's last check (global-setup.ts, before the servers stop): every workflow of the
// worker's bundle (the orders', the sweeps') the suite ran must replay on the workflow code of
// this commit, and none may have met a nondeterminism error while it ran. A history that does not replay means a workflow stuck after a
// worker restart or a cache eviction; it showed up only where a test happened to query such a
// workflow before this check existed.

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

export interface ReplayProblem {
  workflowId: string;
  runId: string;
  problem: string;
  /** The history in one line per event: id, type, and the marker, activity, signal or update name. */
  events: string[];
}

export interface ReplayCheck {
  replayed: number;
  problems: ReplayProblem[];
}

const WORKFLOW_TYPES = ['placeOrderWorkflow', 'staleOrderSweeperWorkflow', 'sweepStaleOrdersWorkflow'];

export async function replayWorkflows(options: { address: string; namespace?: string; startedSince: Date }): Promise<ReplayCheck> {
  quietReplayLogs();
  const connection = await Connection.connect({ address: options.address });
  try {
    const client = new Client({ connection, namespace: options.namespace ?? 'default' });
    const types = WORKFLOW_TYPES.map((type) => `'${type}'`).join(', ');
    const query = `WorkflowType IN (${types}) AND StartTime >= '${options.startedSince.toISOString()}'`;
    const histories = new Map<string, { workflowId: string; runId: string; events: HistoryEvent[] }>();
    const problems: ReplayProblem[] = [];
    for await (const execution of client.workflow.list({ query })) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      const events = history.events ?? [];
      histories.set(`${execution.workflowId}/${execution.runId}`, { workflowId: execution.workflowId, runId: execution.runId, events });
      for (const event of events) {
        const message = event.workflowTaskFailedEventAttributes?.failure?.message ?? '';
        if (message.includes('TMPRL1100')) {
          problems.push({
            workflowId: execution.workflowId,
            runId: execution.runId,
            problem: `while it ran: ${message}`,
            events: describe(events),
          });
        }
      }
    }
    async function* asReplayInput() {
      for (const { workflowId, events } of histories.values()) yield { workflowId, history: { events } };
    }
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: WORKFLOWS_PATH, replayName: 'suite-replay-check' },
      asReplayInput(),
    )) {
      replayed += 1;
      if (result.error) {
        const entry = [...histories.values()].find((h) => h.workflowId === result.workflowId);
        problems.push({
          workflowId: result.workflowId,
          runId: entry?.runId ?? '',
          problem: `on replay: ${String(result.error.message ?? result.error)}`,
          events: describe(entry?.events ?? []),
        });
      }
    }
    return { replayed, problems };
  } finally {
    await connection.close();
  }
}

/**
 * Replaying the suite's histories logs every workflow task a test made fail on purpose (a WARN of
 * several lines each) and the replay worker's state changes: hundreds of lines at the end of the
 * run, where a CI log is read from. What the check finds it returns; only errors are logged.
 */
function quietReplayLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // A runtime is installed in this process already (a test file's, test/support/quiet-temporal.ts).
  }
}

function describe(events: HistoryEvent[]): string[] {
  return events.map((event) => {
    const key = Object.keys(event).find((k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k]) ?? 'unknown';
    const a = event[key as keyof HistoryEvent] as Record<string, unknown> | undefined;
    const name =
      (a?.markerName as string | undefined) ??
      ((a?.activityType as { name?: string } | undefined)?.name as string | undefined) ??
      (a?.signalName as string | undefined) ??
      ((a?.acceptedRequest as { input?: { name?: string } } | undefined)?.input?.name as string | undefined) ??
      '';
    return `${String(event.eventId)} ${key.replace('EventAttributes', '')} ${name}`.trim();
  });
}
