import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, type RetryPolicy } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderActivities } from '../../activities/order-activities.js';
import { createPlacementAttempt, type PlacementSteps } from '../../activities/placement-attempt.js';
import type { OrderStatus, OrderTicket } from '../../domain/order.js';
import { workflowIdFor } from '../../domain/order.js';
import { MissingOrderError, OrderPlacementError } from '../../exchange/exchange.js';
import {
  cancelOrderUpdate,
  cancelRequestedSignal,
  orderStatusQuery,
  orderTerminalSignal,
  orderTerminalUpdate,
  type TerminalEvent,
  terminalUpdateId,
} from '../../temporal/messages.js';
import { registerSearchAttributes } from '../../temporal/search-attribute-registration.js';
import { EXCHANGE_ACTIVITY } from '../../workflows/activity-options.js';
import { placeOrderWorkflow } from '../../workflows/order-workflow.js';
import { WORKFLOWS_PATH } from '../../workflows/path.js';
import { startTimeSkippingServer, type TimeSkippingServer } from '../support/time-skipping-server.js';
import { waitFor } from '../support/wait.js';

// The order workflow on Temporal's time-skipping test server (the Java one installed by
// `npm run setup:test`: the SDK's own download needs internet) and a real Worker running
// the real workflow bundle, with fake activities. Retry timers are skipped, not waited for.

const DAY_MS = 24 * 60 * 60 * 1000;

/** One call of the fake placeAtExchange. Times are on the test server's (skipped) clock. */
interface ExchangeAttempt {
  attempt: number;
  /** The local first attempt (placement-in-one-workflow-task), or one of the scheduled activity's. */
  local: boolean;
  /** Info.scheduledTimestampMs: when the first attempt was scheduled. */
  firstScheduledMs: number;
  /** The server's current time when this attempt ran. */
  startedMs: number;
  outcome: 'failed' | 'succeeded';
}

/** What the fake activities do for one order, and what they saw; each test has orders of its own. */
interface Scenario {
  claim: OrderStatus;
  /** Runs on every exchange attempt; throws to fail it. */
  exchange(attempt: Omit<ExchangeAttempt, 'outcome'>): void | Promise<void>;
  exchangeAttempts: ExchangeAttempt[];
  claimCalls: number;
  /** One entry per markOrderPlaced call: how many exchange attempts had run by then. */
  markPlacedCalls: { afterAttempts: number }[];
  /** What the fake exchange answers to a cancel: whether an interrupted call had reached it. */
  exchangeHasIt?: boolean;
  cancelAtExchangeCalls: number;
  /** The reason of each cancelAtExchange call, with the server's time it came at. */
  cancelReasons: { reason: 'cancel' | 'expire'; atMs: number }[];
  markCancelledCalls: number;
  /** When the venue expires it (a day order), as placeAtExchange answers. */
  expiresAt?: string;
  /** What the venue does with it once placed: fills it at once (the default), or works it until asked to end it. */
  venue: 'fills' | 'works';
}

const scenarios = new Map<string, Scenario>();

function scenarioFor(orderId: string): Scenario {
  const scenario = scenarios.get(orderId);
  if (!scenario) throw ApplicationFailure.nonRetryable(`No scenario for order ${orderId}`, 'TestSetupError');
  return scenario;
}

let server: TimeSkippingServer;
let env: TestWorkflowEnvironment;

const steps: PlacementSteps = {
  async claimOrder(orderId) {
    const scenario = scenarioFor(orderId);
    scenario.claimCalls += 1;
    return scenario.claim;
  },
  async placeAtExchange(ticket) {
    const scenario = scenarioFor(ticket.id);
    const { info } = Context.current();
    // The test server's Info.currentAttemptScheduledTimestampMs of a retry is the time the previous
    // attempt failed, not the time the retry was due, so the attempt's own time comes from the
    // server's clock instead.
    const attempt = {
      attempt: info.attempt,
      local: info.isLocal,
      firstScheduledMs: info.scheduledTimestampMs,
      startedMs: await env.currentTimeMs(),
    };
    try {
      await scenario.exchange(attempt);
    } catch (error) {
      scenario.exchangeAttempts.push({ ...attempt, outcome: 'failed' });
      throw error;
    }
    scenario.exchangeAttempts.push({ ...attempt, outcome: 'succeeded' });
    // The venue fills it at once, and the ingestion process relays the terminal event. Sent (and
    // taken) while this call still runs: once the workflow only waits, the test server would skip
    // its clock to the run's timeout before a relay sent later arrives.
    if (scenario.venue === 'fills') await relayTerminal(ticket.id, { status: 'filled', filledQuantity: 10 });
    return { expiresAt: scenario.expiresAt ?? null };
  },
  async markOrderPlaced(orderId) {
    const scenario = scenarioFor(orderId);
    scenario.markPlacedCalls.push({ afterAttempts: scenario.exchangeAttempts.length });
  },
};
const activities: OrderActivities = {
  ...steps,
  // The three steps as one local attempt, as the worker's is: these same functions in turn.
  ...createPlacementAttempt(steps),
  async amendAtExchange() {
    throw new Error('no amend in these scenarios');
  },
  async cancelAtExchange(orderId, reason = 'cancel') {
    const scenario = scenarioFor(orderId);
    scenario.cancelAtExchangeCalls += 1;
    scenario.cancelReasons.push({ reason, atMs: await env.currentTimeMs() });
    const placed = scenario.markPlacedCalls.length > 0;
    if (!placed && !scenario.exchangeHasIt) return { outcome: 'cancelled', cumQty: 0 };
    const outcome = reason === 'expire' ? 'expired' : 'cancelled';
    if (placed) await relayTerminal(orderId, { status: outcome, filledQuantity: 0 });
    return { outcome, cumQty: 0 };
  },
  async markOrderCancelled(orderId) {
    scenarioFor(orderId).markCancelledCalls += 1;
  },
};

/** What the ingestion process does once it committed an order's terminal report: one signal. */
async function relayTerminal(orderId: string, event: TerminalEvent): Promise<void> {
  await env.client.workflow.getHandle(workflowIdFor(orderId)).signal(orderTerminalSignal, event);
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** The events of a workflow's history that have `attributes`. */
async function eventsWith(handle: WorkflowHandle, attributes: keyof HistoryEvent & `${string}EventAttributes`) {
  return ((await handle.fetchHistory()).events ?? []).filter((event) => event[attributes]);
}

let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
const taskQueue = `order-workflow-ts-${Math.random().toString(36).slice(2, 10)}`;

/** A real Worker on the test server, running the workflow bundle built once for the file. */
async function createWorker(queue: string, options: { maxCachedWorkflows?: number } = {}): Promise<Worker> {
  workflowBundle ??= await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: queue,
    workflowBundle,
    activities,
    ...options,
  });
}
let workflowBundle: WorkflowBundleWithSourceMap | undefined;

beforeAll(async () => {
  server = await startTimeSkippingServer();
  env = server.env;
  await registerSearchAttributes(env.connection, 'default');
  worker = await createWorker(taskQueue);
  workerRun = worker.run();
  workerRun.catch(() => {}); // awaited at clean-up, which throws its error; until then a failure must not count as an unhandled rejection
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun;
  await server?.stop();
});

let orderCounter = 0;

function newOrder(claim: OrderStatus, exchange: Scenario['exchange'] = () => {}): { ticket: OrderTicket; scenario: Scenario } {
  orderCounter += 1;
  const id = `test-order-${orderCounter}-${Math.random().toString(36).slice(2, 8)}`;
  const scenario: Scenario = {
    claim,
    exchange,
    exchangeAttempts: [],
    claimCalls: 0,
    markPlacedCalls: [],
    cancelAtExchangeCalls: 0,
    cancelReasons: [],
    markCancelledCalls: 0,
    venue: 'fills',
  };
  scenarios.set(id, scenario);
  const ticket: OrderTicket = {
    id,
    type: 'limit',
    side: 'buy',
    instrument: 'US0378331005',
    limitPrice: '187.25',
    quantity: 10,
    timeInForce: 'day',
    createdAt: '2026-01-05T09:30:00.000Z',
  };
  return { ticket, scenario };
}

/** Starts the workflow and awaits its result; awaiting is what lets the test server skip time. */
function runWorkflow(ticket: OrderTicket) {
  return env.client.workflow.execute<typeof placeOrderWorkflow>('placeOrderWorkflow', {
    taskQueue,
    workflowId: workflowIdFor(ticket.id),
    args: [ticket],
  });
}

/** The wait activity-options.ts promises after attempt n (1-based) failed: min(initial * coeff^(n-1), max). */
function expectedBackoffMs(policy: RetryPolicy, failedAttempt: number): number {
  const initial = msToNumber(policy.initialInterval ?? '1 second');
  const coefficient = policy.backoffCoefficient ?? 2;
  const maximum = msToNumber(policy.maximumInterval ?? initial * 100);
  return Math.min(initial * coefficient ** (failedAttempt - 1), maximum);
}

/**
 * The worker logs every failed activity attempt (and failed workflow) at WARN with a stack trace,
 * through the Runtime's logger (process.stderr). Thousands of expected failures would bury the
 * test output, so only those of the test's own workflow are dropped while `run` runs.
 */
async function withoutExpectedFailureLogs<T>(workflowId: string, run: () => Promise<T>): Promise<T> {
  const write = process.stderr.write;
  process.stderr.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string' && /\[WARN\] (Activity|Workflow) failed/.test(chunk) && chunk.includes(`workflowId: '${workflowId}'`)) {
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  } as typeof process.stderr.write;
  try {
    return await run();
  } finally {
    process.stderr.write = write;
  }
}

describe('placeOrderWorkflow on the time-skipping test server', () => {
  it('keeps retrying the exchange through a 3-day outage on the policy schedule, then places the order', async () => {
    const policy = EXCHANGE_ACTIVITY.retry;
    if (!policy) throw new Error('EXCHANGE_ACTIVITY has no retry policy');
    const maximumMs = msToNumber(policy.maximumInterval ?? '0');
    const outageMs = 3 * DAY_MS;

    const { ticket, scenario } = newOrder('placing', ({ startedMs, firstScheduledMs }) => {
      if (startedMs - firstScheduledMs < outageMs) throw new OrderPlacementError();
    });

    const wallStart = performance.now();
    const result = await withoutExpectedFailureLogs(workflowIdFor(ticket.id), () => runWorkflow(ticket));
    const wallMs = performance.now() - wallStart;

    expect(result).toEqual({ orderId: ticket.id, status: 'filled' });

    const attempts = scenario.exchangeAttempts;
    const first = attempts[0];
    const last = attempts.at(-1);
    if (!first || !last) throw new Error('placeAtExchange was never called');
    const simulatedMs = last.startedMs - first.firstScheduledMs;
    console.info(
      `3-day outage: ${attempts.length} exchange attempts over ${(simulatedMs / DAY_MS).toFixed(3)} simulated days ` +
        `(${(simulatedMs / 1000).toFixed(0)} s) in ${(wallMs / 1000).toFixed(1)} s wall time ` +
        `(${(wallMs / attempts.length).toFixed(1)} ms per attempt)`,
    );

    // The outage lasted the full 3 days on the server's clock; the first attempt after it succeeded.
    expect(simulatedMs).toBeGreaterThanOrEqual(outageMs);
    expect(simulatedMs).toBeLessThan(outageMs + maximumMs + 5_000);
    // One local attempt inside the first workflow task, then the scheduled activity's attempts.
    expect(first.local).toBe(true);
    const scheduled = attempts.slice(1);
    expect(scheduled.every((a) => !a.local)).toBe(true);
    expect(scheduled.map((a) => a.attempt)).toEqual(scheduled.map((_, i) => i + 1));
    expect(attempts.slice(0, -1).every((a) => a.outcome === 'failed')).toBe(true);
    expect(last.outcome).toBe('succeeded');
    expect(scenario.claimCalls).toBeGreaterThanOrEqual(1); // more only if a workflow task timed out on a busy machine
    expect(scenario.markPlacedCalls).toEqual([{ afterAttempts: attempts.length }]);

    // Days of workflow time in seconds to minutes of wall time (printed above; not a timed test).

    // The retry schedule is the one activity-options.ts declares. A gap is never shorter than the
    // backoff; it is longer by the failed attempt's own run and the retry's dispatch, which take
    // wall time (the clock is not skipped while an activity runs).
    // Generous for a busy machine: the backoff itself is checked exactly from below.
    const toleranceMs = 3000;
    // The scheduled activity starts as soon as the local attempt failed.
    expect(scheduled[0]!.startedMs - first.startedMs).toBeLessThanOrEqual(toleranceMs);
    const gaps = scheduled.slice(1).map((a, i) => ({
      failedAttempt: i + 1,
      actualMs: a.startedMs - scheduled[i]!.startedMs,
      expectedMs: expectedBackoffMs(policy, i + 1),
    }));
    const offSchedule = gaps.filter((g) => g.actualMs < g.expectedMs || g.actualMs > g.expectedMs + toleranceMs);
    expect(offSchedule).toEqual([]);
    console.info(`largest gap overhead over the backoff: ${Math.max(...gaps.map((g) => g.actualMs - g.expectedMs))} ms`);

    // The backoff grows up to the cap, then stays at the cap for the rest of the outage.
    const firstCapped = gaps.findIndex((g) => g.expectedMs === maximumMs);
    expect(firstCapped).toBeGreaterThan(0);
    expect(gaps[firstCapped - 1]!.actualMs).toBeLessThan(maximumMs);
    const capped = gaps.slice(firstCapped);
    expect(capped.length).toBeGreaterThan(0.99 * (outageMs / maximumMs));
    expect(capped.every((g) => g.actualMs >= maximumMs && g.actualMs <= maximumMs + toleranceMs)).toBe(true);
  }, 600_000);

  it('does not call the exchange when the API rejected the order first', async () => {
    const { ticket, scenario } = newOrder('rejected');

    const result = await runWorkflow(ticket);

    expect(result).toEqual({ orderId: ticket.id, status: 'rejected' });
    // Once, unless a busy machine made its workflow task time out: a retried task runs its local
    // activities again.
    expect(scenario.claimCalls).toBeGreaterThanOrEqual(1);
    expect(scenario.exchangeAttempts).toEqual([]);
    expect(scenario.markPlacedCalls).toEqual([]);
  });

  it('does not call the exchange again when an earlier run already placed the order, and follows it to its end', async () => {
    const { ticket, scenario } = newOrder('placed');
    const handle = await env.client.workflow.start(placeOrderWorkflow, { taskQueue, workflowId: workflowIdFor(ticket.id), args: [ticket] });
    await waitFor(async () => ((await handle.query(orderStatusQuery)) === 'placed' ? true : undefined), 30_000, 'the order placed');
    // Awaited before the result: with nothing pending, the server would skip time to the run's timeout.
    await relayTerminal(ticket.id, { status: 'filled', filledQuantity: 10 });

    expect(await handle.result()).toEqual({ orderId: ticket.id, status: 'filled' });
    expect(scenario.claimCalls).toBeGreaterThanOrEqual(1); // more only if a workflow task timed out on a busy machine
    expect(scenario.exchangeAttempts).toEqual([]);
    expect(scenario.markPlacedCalls).toEqual([]);
  });

  it.each([
    [
      'ApplicationFailure.nonRetryable',
      () => ApplicationFailure.nonRetryable('Required order parameter not provided', 'MissingOrderError'),
    ],
    // A plain retryable error, stopped only by the policy's nonRetryableErrorTypes. The SDK takes
    // the failure type from the error's constructor name (not its `name` property).
    ['a MissingOrderError thrown as is (nonRetryableErrorTypes)', () => new MissingOrderError()],
  ])('fails the workflow after exactly one exchange attempt on %s', async (_, makeError) => {
    // Later attempts would succeed, so a retry that should not happen shows up as a placed order.
    const { ticket, scenario } = newOrder('placing', ({ attempt }) => {
      if (attempt === 1) throw makeError();
    });

    const error = await withoutExpectedFailureLogs(workflowIdFor(ticket.id), () =>
      runWorkflow(ticket).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );

    expect(error).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (error as WorkflowFailedError).cause;
    // The first attempt is local: its failure is the activity's own, not wrapped in an ActivityFailure.
    const applicationFailure = activityFailure instanceof ActivityFailure ? activityFailure.cause : activityFailure;
    expect(applicationFailure).toBeInstanceOf(ApplicationFailure);
    expect((applicationFailure as ApplicationFailure).type).toBe('MissingOrderError');
    expect(scenario.exchangeAttempts.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'failed']]);
    expect(scenario.markPlacedCalls).toEqual([]);

    const description = await env.client.workflow.getHandle(workflowIdFor(ticket.id)).describe();
    expect(description.status.name).toBe('FAILED');
  });

  it('cancels an order whose exchange calls keep failing when asked by the Update of the API before: no further attempt, the exchange confirms, status cancelled', async () => {
    const { ticket, scenario } = newOrder('placing', () => {
      throw new OrderPlacementError();
    });
    const handle = await env.client.workflow.start(placeOrderWorkflow, { taskQueue, workflowId: workflowIdFor(ticket.id), args: [ticket] });
    await withoutExpectedFailureLogs(handle.workflowId, async () => {
      await waitFor(async () => (scenario.exchangeAttempts.length >= 2 ? true : undefined), 30_000, 'two failed exchange attempts');
      expect(await handle.query(orderStatusQuery)).toBe('placing');

      expect(await handle.executeUpdate(cancelOrderUpdate)).toBe('cancelled');
      expect(await handle.result()).toEqual({ orderId: ticket.id, status: 'cancelled' });
    });
    const attemptsAtCancel = scenario.exchangeAttempts.length;
    expect(scenario.cancelAtExchangeCalls).toBe(1);
    expect(scenario.markCancelledCalls).toBe(1);
    expect(scenario.markPlacedCalls).toEqual([]);
    await env.sleep('1 hour'); // skipped time: a retry still scheduled would run now
    expect(scenario.exchangeAttempts.length).toBe(attemptsAtCancel);
    expect(await handle.query(orderStatusQuery)).toBe('cancelled');
  });

  it('cancels on the signal alone, as recorded by a DELETE whose wait for the decision ran out: the decision follows', async () => {
    const { ticket, scenario } = newOrder('placing', () => {
      throw new OrderPlacementError();
    });
    const handle = await env.client.workflow.start(placeOrderWorkflow, { taskQueue, workflowId: workflowIdFor(ticket.id), args: [ticket] });
    await withoutExpectedFailureLogs(handle.workflowId, async () => {
      await waitFor(async () => (scenario.exchangeAttempts.length >= 1 ? true : undefined), 30_000, 'a failed exchange attempt');
      await handle.signal(cancelRequestedSignal);
      expect(await handle.result()).toEqual({ orderId: ticket.id, status: 'cancelled' });
    });
    expect(scenario.cancelAtExchangeCalls).toBe(1);
    expect(scenario.markCancelledCalls).toBe(1);
    expect(scenario.markPlacedCalls).toEqual([]);
    expect(await handle.query(orderStatusQuery)).toBe('cancelled');
  });

  it('takes a cancel sent while the local exchange attempt runs once its workflow task is done: placed, then cancelled at the venue', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inFlight = false;
    const { ticket, scenario } = newOrder('placing', async ({ local }) => {
      if (!local) throw new Error('the local attempt was expected to succeed');
      inFlight = true;
      await gate;
    });
    scenario.venue = 'works';
    const handle = await env.client.workflow.start(placeOrderWorkflow, { taskQueue, workflowId: workflowIdFor(ticket.id), args: [ticket] });
    await waitFor(async () => (inFlight ? true : undefined), 30_000, 'the local exchange attempt to start');

    // The signal is in the history at once; the workflow takes it once the local attempt's task is done.
    await handle.signal(cancelRequestedSignal);
    release();
    expect(await handle.result()).toEqual({ orderId: ticket.id, status: 'cancelled' });
    expect(scenario.exchangeAttempts.map((a) => [a.local, a.outcome])).toEqual([[true, 'succeeded']]);
    expect(scenario.markPlacedCalls).toHaveLength(1);
    expect(scenario.cancelReasons.map((c) => c.reason)).toEqual(['cancel']);
    expect(scenario.markCancelledCalls).toBe(0);
  });

  it('sends a cancel that comes while a scheduled exchange attempt is in flight and that call succeeds to the venue: cancelled there', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inFlight = false;
    const { ticket, scenario } = newOrder('placing', async ({ local }) => {
      // The local attempt fails; the scheduled activity's first attempt is held.
      if (local) throw new OrderPlacementError();
      inFlight = true;
      await gate;
    });
    scenario.venue = 'works';
    const handle = await env.client.workflow.start(placeOrderWorkflow, { taskQueue, workflowId: workflowIdFor(ticket.id), args: [ticket] });
    await waitFor(async () => (inFlight ? true : undefined), 30_000, 'the exchange call to start');

    // The workflow has taken the cancel (and cancelled the call's scope) before the call ends.
    await handle.signal(cancelRequestedSignal);
    await waitFor(
      async () => ((await eventsWith(handle, 'activityTaskCancelRequestedEventAttributes')).length > 0 ? true : undefined),
      30_000,
      'the exchange call asked to cancel',
    );
    release();
    expect(await handle.result()).toEqual({ orderId: ticket.id, status: 'cancelled' });
    // Placed first (the call reached the exchange), then cancelled at the venue: never marked cancelled before placement.
    expect(scenario.exchangeAttempts.map((a) => [a.local, a.outcome])).toEqual([
      [true, 'failed'],
      [false, 'succeeded'],
    ]);
    expect(scenario.markPlacedCalls).toHaveLength(1);
    expect(scenario.cancelReasons.map((c) => c.reason)).toEqual(['cancel']);
    expect(scenario.markCancelledCalls).toBe(0);
  });

  it("follows a placed order until the venue's terminal event, and takes a repeated relay of it once", async () => {
    // Its own worker, stopped before the two relays, so both are in the history before a worker
    // takes the first: with one running, a busy machine could end the workflow on the first relay
    // before the second arrived (refused as "completed", and nothing of the repeat tested).
    const queue = `${taskQueue}-relay`;
    // No cache, so no sticky queue: a task for the next worker goes to the queue it polls.
    let ownWorker = await createWorker(queue, { maxCachedWorkflows: 0 });
    let ownRun = ownWorker.run();
    const { ticket, scenario } = newOrder('placing');
    scenario.venue = 'works';
    const handle = await env.client.workflow.start(placeOrderWorkflow, {
      taskQueue: queue,
      workflowId: workflowIdFor(ticket.id),
      args: [ticket],
    });
    await waitFor(async () => ((await handle.query(orderStatusQuery)) === 'placed' ? true : undefined), 30_000, 'the order placed');
    await env.sleep('3 days'); // a gtc order works for as long as it takes; nothing happens meanwhile
    expect(await handle.query(orderStatusQuery)).toBe('placed');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    ownWorker.shutdown();
    await ownRun;

    const event: TerminalEvent = { status: 'filled', filledQuantity: 10 };
    // The relay repeats after a crash (signalled, not yet marked relayed): a second signal, taken
    // in the same workflow task as the first, and no second effect.
    await relayTerminal(ticket.id, event);
    await relayTerminal(ticket.id, event);
    ownWorker = await createWorker(queue, { maxCachedWorkflows: 0 });
    ownRun = ownWorker.run();
    try {
      expect(await handle.result()).toEqual({ orderId: ticket.id, status: 'filled' });
    } finally {
      ownWorker.shutdown();
      await ownRun;
    }
    expect(scenario.cancelReasons).toEqual([]);
    expect(await eventsWith(handle, 'workflowExecutionSignaledEventAttributes')).toHaveLength(2);
    const statusUpserts = (await eventsWith(handle, 'upsertWorkflowSearchAttributesEventAttributes')).map((e) => {
      const data = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.OrderStatus?.data;
      return data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined;
    });
    expect(statusUpserts.filter((status) => status === 'filled')).toHaveLength(1);
  });

  it('ends on the terminal event relayed as an Update by the ingestion process of the version before, taking a repeat once', async () => {
    const { ticket, scenario } = newOrder('placing');
    scenario.venue = 'works';
    const handle = await env.client.workflow.start(placeOrderWorkflow, { taskQueue, workflowId: workflowIdFor(ticket.id), args: [ticket] });
    await waitFor(async () => ((await handle.query(orderStatusQuery)) === 'placed' ? true : undefined), 30_000, 'the order placed');

    const event: TerminalEvent = { status: 'filled', filledQuantity: 10 };
    await handle.executeUpdate(orderTerminalUpdate, { args: [event], updateId: terminalUpdateId(ticket.id) });
    // Same update id: Temporal refuses the second, no second effect.
    await handle.executeUpdate(orderTerminalUpdate, { args: [event], updateId: terminalUpdateId(ticket.id) }).catch(() => {});
    expect(await handle.result()).toEqual({ orderId: ticket.id, status: 'filled' });
    expect(scenario.cancelReasons).toEqual([]);
    expect(await eventsWith(handle, 'workflowExecutionUpdateAcceptedEventAttributes')).toHaveLength(1);
  });

  it('expires a day order still open at its expiry: asks the venue at that time, ends with its expired event', async () => {
    const { ticket, scenario } = newOrder('placing');
    scenario.venue = 'works';
    const placedAtMs = await env.currentTimeMs();
    const expiresAtMs = placedAtMs + 6.5 * 60 * 60 * 1000;
    scenario.expiresAt = new Date(expiresAtMs).toISOString();

    const result = await runWorkflow(ticket);

    expect(result).toEqual({ orderId: ticket.id, status: 'expired' });
    expect(scenario.cancelReasons.map((c) => c.reason)).toEqual(['expire']);
    expect(scenario.cancelReasons[0]!.atMs).toBeGreaterThanOrEqual(expiresAtMs);
    expect(scenario.cancelReasons[0]!.atMs).toBeLessThan(expiresAtMs + 60_000);
  });
});
