// What Temporal recorded for an order: its history's events, workflow tasks, activity tasks and
// local attempts, read from the server after the order's workflow ended.
import type { Client } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import { workflowIdFor } from '../domain/order.js';
import { type LatencySummary, summariseMs } from './histogram.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface HistoryCounts {
  events: number;
  /** WorkflowTaskScheduled events. */
  workflowTasks: number;
  /** ActivityTaskScheduled events: each is one activity the server dispatches (its retries are not events). */
  activityTasks: number;
  /** Attempts the server dispatched for those activities (the last ActivityTaskStarted's attempt of each). */
  activityAttempts: number;
  /** Local activity markers: steps run inside a workflow task, no task of their own. */
  localActivities: number;
  upserts: number;
  /** Whether the order's first exchange attempt failed (it then needed the scheduled exchange activity or a retry). */
  firstExchangeAttemptFailed: boolean;
  /** The event types in order, shortened (EVENT_TYPE_ and the like dropped). */
  types: string[];
  /** Where the order's time went until its first workflow task completed (ms; null where an event is missing). */
  times: {
    dispatchMs: number | null;
    firstTaskMs: number | null;
    startedAtMs: number | null;
    /** Epoch ms of the first workflow task's start (a worker polled it) and completion (its commands reached the server). */
    firstTaskStartedAtMs: number | null;
    firstTaskCompletedAtMs: number | null;
  };
}

export function countHistory(events: HistoryEvent[]): HistoryCounts {
  const counts: HistoryCounts = {
    events: events.length,
    workflowTasks: 0,
    activityTasks: 0,
    activityAttempts: 0,
    localActivities: 0,
    upserts: 0,
    firstExchangeAttemptFailed: false,
    types: [],
    times: { dispatchMs: null, firstTaskMs: null, startedAtMs: null, firstTaskStartedAtMs: null, firstTaskCompletedAtMs: null },
  };
  // The first workflow task: scheduled (with the start) → started (a worker polled it: Temporal's
  // dispatch) → completed (the worker ran the claim, the exchange call and the placement in it).
  const at = (event: HistoryEvent | undefined) => (event ? (optionalTsToMs(event.eventTime) ?? null) : null);
  const first = (pick: (event: HistoryEvent) => unknown) => events.find((event) => pick(event) != null);
  const scheduledAt = at(first((event) => event.workflowTaskScheduledEventAttributes));
  const startedAt = at(first((event) => event.workflowTaskStartedEventAttributes));
  const completedAt = at(first((event) => event.workflowTaskCompletedEventAttributes));
  counts.times = {
    startedAtMs: at(events[0]),
    dispatchMs: scheduledAt !== null && startedAt !== null ? startedAt - scheduledAt : null,
    firstTaskMs: startedAt !== null && completedAt !== null ? completedAt - startedAt : null,
    firstTaskStartedAtMs: startedAt,
    firstTaskCompletedAtMs: completedAt,
  };
  const activityNames = new Map<string, string>();
  for (const event of events) {
    counts.types.push(eventTypeName(event));
    if (event.workflowTaskScheduledEventAttributes) counts.workflowTasks += 1;
    if (event.upsertWorkflowSearchAttributesEventAttributes) counts.upserts += 1;
    if (event.markerRecordedEventAttributes?.markerName === 'core_local_activity') counts.localActivities += 1;
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      counts.activityTasks += 1;
      activityNames.set(String(event.eventId), scheduled.activityType?.name ?? '');
      // From placement-in-one-workflow-task on, the scheduled exchange activity exists only after a failed local attempt.
      if (scheduled.activityType?.name === 'placeAtExchange' && counts.localActivities > 0) counts.firstExchangeAttemptFailed = true;
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const attempt = started.attempt ?? 1;
      counts.activityAttempts += attempt;
      if (attempt > 1 && activityNames.get(String(started.scheduledEventId)) === 'placeAtExchange')
        counts.firstExchangeAttemptFailed = true;
    }
  }
  return counts;
}

/** The name of the event's attributes field, e.g. markerRecorded: what kind of event it is. */
function eventTypeName(event: HistoryEvent): string {
  const key = Object.keys(event).find((name) => name.endsWith('EventAttributes') && event[name as keyof HistoryEvent] != null);
  return key ? key.replace(/EventAttributes$/, '') : 'unknown';
}

export interface HistorySummary {
  orders: number;
  /** Means per order. */
  events: number;
  workflowTasks: number;
  activityTasks: number;
  activityAttempts: number;
  localActivities: number;
  upserts: number;
  /** One order's event types, in order: what the means are made of. */
  example: string[];
  /** created_at → the workflow's start (the API: insert, start); the first task's dispatch; the first task (placement in it). */
  times: { apiMs: LatencySummary; dispatchMs: LatencySummary; firstTaskMs: LatencySummary };
}

/** One order's history, counted, with the order's id and created_at. */
export type OrderHistory = HistoryCounts & { id: string; createdMs: number };

/** The histories of `orders`, read one after the other (not to add load of its own to the server). */
export async function readHistories(client: Client, orders: { id: string; createdMs: number }[]): Promise<OrderHistory[]> {
  const all: OrderHistory[] = [];
  for (const { id, createdMs } of orders) {
    const history = await client.workflow.getHandle(workflowIdFor(id)).fetchHistory();
    all.push({ ...countHistory(history.events ?? []), id, createdMs });
  }
  return all;
}

/** Mean counts of healthy orders and of orders whose first exchange attempt failed, over the histories of orderIds. */
export async function summariseHistories(
  client: Client,
  orders: { id: string; createdMs: number }[],
): Promise<{ healthy: HistorySummary | null; firstAttemptFailed: HistorySummary | null }> {
  return summariseCounts(await readHistories(client, orders));
}

/** The same, over histories already read. */
export function summariseCounts(all: OrderHistory[]): { healthy: HistorySummary | null; firstAttemptFailed: HistorySummary | null } {
  const known = (values: (number | null)[]) => values.filter((value): value is number => value !== null);
  const summarise = (group: OrderHistory[]): HistorySummary | null => {
    if (group.length === 0) return null;
    const mean = (pick: (c: HistoryCounts) => number) => group.reduce((sum, c) => sum + pick(c), 0) / group.length;
    return {
      orders: group.length,
      events: mean((c) => c.events),
      workflowTasks: mean((c) => c.workflowTasks),
      activityTasks: mean((c) => c.activityTasks),
      activityAttempts: mean((c) => c.activityAttempts),
      localActivities: mean((c) => c.localActivities),
      upserts: mean((c) => c.upserts),
      example: group[0]!.types,
      times: {
        apiMs: summariseMs(known(group.map((c) => (c.times.startedAtMs === null ? null : c.times.startedAtMs - c.createdMs)))),
        dispatchMs: summariseMs(known(group.map((c) => c.times.dispatchMs))),
        firstTaskMs: summariseMs(known(group.map((c) => c.times.firstTaskMs))),
      },
    };
  };
  return {
    healthy: summarise(all.filter((c) => !c.firstExchangeAttemptFailed)),
    firstAttemptFailed: summarise(all.filter((c) => c.firstExchangeAttemptFailed)),
  };
}
