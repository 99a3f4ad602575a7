import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { WORKFLOWS_PATH } from '../../workflows/path.js';

// Determinism: histories recorded by earlier and current workflow code must replay on the code the
// worker runs, or workflows in flight during a deployment get stuck. Each fixture is a real run
// (claimed, two failed exchange attempts, placed), recorded by
// `npx tsx scripts/record-workflow-history.ts`: one from before the database steps became local
// activities (the patch 'database-steps-as-local-activities'), one from after, one followed to the
// venue's end ('follow-order-to-terminal'), one with the search attributes given at start
// ('search-attributes-at-start': one patch marker for all three, fewer upserts), and two of a
// placement in one workflow task ('placement-in-one-workflow-task': healthy, and with the
// exchange failing twice), the terminal event relayed as an Update in all of these; and one
// healthy placement whose terminal event came as a signal, as the relay sends it now
// (`--failed-attempts 0`); and two of the placement's three steps in one local attempt
// ('placement-in-one-local-attempt': healthy, and with the exchange failing twice).

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const NONDETERMINISTIC_WORKFLOWS = fileURLToPath(new URL('../fixtures/nondeterministic-workflow.ts', import.meta.url));

interface IndexedFields {
  indexedFields?: Record<string, { data: string }>;
}
interface HistoryJson {
  events: ({ eventType: string } & Record<
    string,
    | { activityType?: { name: string }; attempt?: number; markerName?: string; signalName?: string; searchAttributes?: IndexedFields }
    | string
  >)[];
}

const readHistory = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8')) as HistoryJson;

/**
 * The fixture as a History message. Worker.runReplayHistory would take the JSON as is, but its
 * historyFromJSON (@temporalio/common/lib/proto-utils) throws "type must be a Type" in this install:
 * npm gave @temporalio/common and @temporalio/proto separate copies of protobufjs 8 (the top-level
 * protobufjs is 7, for @grpc/proto-loader) and protojson checks `instanceof Type`. This is the same
 * conversion with the protojson of the copy that built the History type.
 */
function historyFromJSON(json: unknown): History {
  const protoRequire = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
  const protojson = protoRequire('protobufjs/ext/protojson') as {
    fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
  };
  return protojson.fromJson(proto.temporal.api.history.v1.History, json, { ignoreUnknownFields: true }) as History;
}

function attributesOf(event: HistoryJson['events'][number]) {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  const attributes = key ? event[key] : undefined;
  if (typeof attributes !== 'object') throw new Error(`Event without attributes: ${JSON.stringify(event)}`);
  return attributes;
}

/** The search attributes an event carries, decoded (keyword payloads are JSON strings). */
function searchAttributesOf(event: HistoryJson['events'][number]): Record<string, unknown> {
  const fields = attributesOf(event).searchAttributes?.indexedFields ?? {};
  return Object.fromEntries(
    Object.entries(fields).map(([name, { data }]) => [name, JSON.parse(Buffer.from(data, 'base64').toString('utf8'))]),
  );
}

const ORDER_AT_START = {
  OrderId: '5f0c6a3e-2b7d-4c1a-9e8f-0a1b2c3d4e5f',
  Instrument: 'US0378331005',
  Side: 'buy',
  OrderStatus: 'accepted',
};

const FIXTURES = [
  {
    name: 'place-order-workflow.scheduled-db-steps.history.json',
    scheduled: ['claimOrder', 'placeAtExchange', 'markOrderPlaced'],
    startedAttempts: [1, 3, 1], // the exchange succeeded on its third attempt
    markers: [] as string[],
    atStart: {} as Record<string, string>,
    statusUpserts: ['accepted', 'placing', 'placed'],
    events: 26,
  },
  {
    name: 'place-order-workflow.local-db-steps.history.json',
    scheduled: ['placeAtExchange'],
    startedAttempts: [3],
    // the patch, then claimOrder and markOrderPlaced as local activities
    markers: ['core_patch', 'core_local_activity', 'core_local_activity'],
    atStart: {},
    statusUpserts: ['accepted', 'placing', 'placed'],
    events: 18,
  },
  {
    // Followed after placement until the venue's terminal event (an Update), which ends it.
    name: 'place-order-workflow.follow-to-terminal.history.json',
    scheduled: ['placeAtExchange'],
    startedAttempts: [3],
    markers: ['core_patch', 'core_patch', 'core_local_activity', 'core_local_activity'],
    atStart: {},
    statusUpserts: ['accepted', 'placing', 'placed', 'filled'],
    events: 26,
  },
  {
    // Started as the API starts it, with the order's search attributes; the one patch marker
    // stands for the two earlier ones. OrderStatus is upserted when placed and when final only.
    // The placement is recorded by a scheduled activity (its completion ordered in the history
    // against a terminal Update that arrives meanwhile).
    name: 'place-order-workflow.search-attributes-at-start.history.json',
    scheduled: ['placeAtExchange', 'markOrderPlaced'],
    startedAttempts: [3, 1],
    markers: ['core_patch', 'core_local_activity'],
    atStart: { ...ORDER_AT_START, AccountId: DEMO_ACCOUNT_ID },
    statusUpserts: ['placed', 'filled'],
    events: 27,
  },
  {
    // 'placement-in-one-workflow-task' (standing for all earlier patches): a healthy order, its
    // claim, exchange call and placement each one local attempt in the first workflow task;
    // the terminal Update ends it in the second. No activity task.
    name: 'place-order-workflow.placement-in-one-task.healthy.history.json',
    scheduled: [],
    startedAttempts: [],
    markers: ['core_patch', 'core_local_activity', 'core_local_activity', 'core_local_activity'],
    atStart: { ...ORDER_AT_START, AccountId: DEMO_ACCOUNT_ID },
    statusUpserts: ['placed', 'filled'],
    events: 17,
  },
  {
    // The same code, the exchange failing twice: the local attempt fails, the scheduled activity
    // fails once and succeeds on its second attempt; the placement is then recorded locally.
    name: 'place-order-workflow.placement-in-one-task.history.json',
    scheduled: ['placeAtExchange'],
    startedAttempts: [2],
    markers: ['core_patch', 'core_local_activity', 'core_local_activity', 'core_local_activity'],
    atStart: { ...ORDER_AT_START, AccountId: DEMO_ACCOUNT_ID },
    statusUpserts: ['placed', 'filled'],
    events: 23,
  },
  {
    // The same code, healthy, its terminal event relayed as the signal `orderTerminalReported`
    // (sent while the placement's last local activity ran), no longer as an Update.
    name: 'place-order-workflow.terminal-signal.history.json',
    scheduled: [],
    startedAttempts: [],
    markers: ['core_patch', 'core_local_activity', 'core_local_activity', 'core_local_activity'],
    atStart: { ...ORDER_AT_START, AccountId: DEMO_ACCOUNT_ID },
    statusUpserts: ['placed', 'filled'],
    events: 16,
    signals: ['orderTerminalReported'],
  },
  {
    // 'placement-in-one-local-attempt' (standing for all earlier patches): claim, exchange call
    // and record as one local activity (claimPlaceAndRecord: one marker), the terminal signal.
    name: 'place-order-workflow.placement-in-one-attempt.healthy.history.json',
    scheduled: [],
    startedAttempts: [],
    markers: ['core_patch', 'core_local_activity'],
    atStart: { ...ORDER_AT_START, AccountId: DEMO_ACCOUNT_ID },
    statusUpserts: ['placed', 'filled'],
    events: 14,
    signals: ['orderTerminalReported'],
  },
  {
    // The same code, the exchange failing twice: the one local attempt reports the exchange call
    // failed, the scheduled activity fails once and succeeds on its second attempt; the placement
    // is then recorded by its own local attempt.
    name: 'place-order-workflow.placement-in-one-attempt.history.json',
    scheduled: ['placeAtExchange'],
    startedAttempts: [2],
    markers: ['core_patch', 'core_local_activity', 'core_local_activity'],
    atStart: { ...ORDER_AT_START, AccountId: DEMO_ACCOUNT_ID },
    statusUpserts: ['placed', 'filled'],
    events: 21,
    signals: ['orderTerminalReported'],
  },
  {
    // 'amend-order' (issue #26): the placed order amended twice (the amendOrder Update, accepted
    // into the history), each a scheduled amendAtExchange; the patch's marker is recorded by the
    // first amend's handler, not at the start. The venue replaces it once and refuses the second
    // (a quantity not above its cum). `--failed-attempts 0 --amend`.
    name: 'place-order-workflow.amend-order.history.json',
    scheduled: ['amendAtExchange', 'amendAtExchange'],
    startedAttempts: [1, 1],
    markers: ['core_patch', 'core_local_activity', 'core_patch'],
    atStart: { ...ORDER_AT_START, AccountId: DEMO_ACCOUNT_ID },
    statusUpserts: ['placed', 'filled'],
    events: 41,
    signals: ['orderTerminalReported'],
    updates: ['amendOrder', 'amendOrder'],
  },
];

describe.each(FIXTURES)(
  'placeOrderWorkflow replay of $name',
  ({ name, scheduled, startedAttempts, markers, atStart, statusUpserts, events, signals = [], updates = [] }) => {
    const historyJson = readHistory(name);

    it('the recorded history covers claim, exchange retries and placement', () => {
      expect(
        historyJson.events
          .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
          .map((e) => attributesOf(e).activityType?.name),
      ).toEqual(scheduled);
      expect(
        historyJson.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_STARTED').map((e) => attributesOf(e).attempt),
      ).toEqual(startedAttempts);
      expect(historyJson.events.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED').map((e) => attributesOf(e).markerName)).toEqual(
        markers,
      );
      expect(
        historyJson.events.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED').map((e) => attributesOf(e).signalName),
      ).toEqual(signals);
      // An amend is an Update accepted into the history (the Web UI shows it), its outcome an event too.
      const accepted = historyJson.events
        .filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED')
        .map((e) => (attributesOf(e) as { acceptedRequest?: { input?: { name?: string } } }).acceptedRequest?.input?.name);
      expect(accepted.filter((update) => update === 'amendOrder')).toEqual(updates);
      expect(historyJson.events.at(-1)?.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    });

    it('carries the search attributes at start and upserts the statuses it should', () => {
      const [started] = historyJson.events;
      if (!started) throw new Error(`${name} has no events`);
      expect(searchAttributesOf(started)).toEqual(atStart);
      const upserts = historyJson.events
        .filter((e) => e.eventType === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES')
        .map(searchAttributesOf);
      expect(upserts.flatMap((fields) => (fields.OrderStatus === undefined ? [] : [fields.OrderStatus]))).toEqual(statusUpserts);
      // Each patch marker comes with the SDK's TemporalChangeVersion upsert.
      expect(upserts.filter((fields) => 'TemporalChangeVersion' in fields)).toHaveLength(markers.filter((m) => m === 'core_patch').length);
      expect(historyJson.events).toHaveLength(events);
    });

    it('replays on the current workflow code', async () => {
      await expect(Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, historyFromJSON(historyJson))).resolves.toBeUndefined();
    });

    it('detects a workflow that calls its activities in a different order', async () => {
      await expect(
        Worker.runReplayHistory({ workflowsPath: NONDETERMINISTIC_WORKFLOWS }, historyFromJSON(historyJson)),
      ).rejects.toBeInstanceOf(DeterminismViolationError);
    });
  },
);
