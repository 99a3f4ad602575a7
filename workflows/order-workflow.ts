import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ExchangeActivities, VenueCancel } from '../activities/exchange-activities.js';
import type { OrderStoreActivities } from '../activities/order-store-activities.js';
import { isFinal, type OrderStatus, type OrderTicket } from '../domain/order.js';
import { orderDetails } from '../domain/order-summary.js';
import { DATABASE_ACTIVITY, DATABASE_LOCAL_ATTEMPT, EXCHANGE_ACTIVITY, EXCHANGE_LOCAL_ATTEMPT } from './activity-options.js';
import {
  cancelOrderUpdate,
  cancelRequestedSignal,
  type FinalStatus,
  orderStatusQuery,
  orderTerminalSignal,
  orderTerminalUpdate,
  type TerminalEvent,
} from './messages.js';
import { ORDER_STATUS, orderStartAttributes } from './search-attributes.js';

const scheduledDatabaseSteps = proxyActivities<OrderStoreActivities>(DATABASE_ACTIVITY);
// The order store's steps as local activities: they run inside the workflow task that needs them
// and are recorded as one marker event, instead of a scheduled/started/completed triple and a
// workflow task of their own. That halves the Temporal round trips of an order (measured in
// docs/benchmarks.md). Histories started before this change keep replaying on scheduled ones.
const localDatabaseSteps = proxyLocalActivities<OrderStoreActivities>(DATABASE_ACTIVITY);
const LOCAL_DATABASE_STEPS = 'database-steps-as-local-activities';
// From this change on, the workflow follows its order at the venue until it is terminal
// (filled, cancelled, expired, rejected there); histories from before end at `placed`.
const FOLLOW_TO_TERMINAL = 'follow-order-to-terminal';
// From this change on, the API gives OrderId, Instrument, Side and OrderStatus with the start and
// the workflow upserts OrderStatus only when it says something a list filter needs: the order
// placed (or the status it already had at the venue) and its final status, not the transient
// `placing` (its page's details still say it). Its histories also carry this one patch marker
// instead of the two earlier ones: each patch costs a marker and a TemporalChangeVersion upsert,
// and this code always takes both earlier patches' new branches, so where this marker is
// recorded they are implied (on replay of an older history, this patch is false and they are
// decided as before). Histories from before keep their upserts.
const SEARCH_ATTRIBUTES_AT_START = 'search-attributes-at-start';
// From this change on, a healthy order is placed in one workflow task: the claim, the exchange
// call and recording the placement are each one local attempt (a marker), and only a step that
// fails falls back to its scheduled activity and Temporal's unlimited retries. It stands for
// the earlier patches as search-attributes-at-start does (one marker, one upsert).
const PLACEMENT_IN_ONE_TASK = 'placement-in-one-workflow-task';
const localAttempt = {
  database: proxyLocalActivities<OrderStoreActivities>(DATABASE_LOCAL_ATTEMPT),
  exchange: proxyLocalActivities<ExchangeActivities>(EXCHANGE_LOCAL_ATTEMPT),
};
// The exchange's calls are scheduled activities, with the exchange's policy (cancelAtExchange had
// the database steps' until now: no patch needed, replay compares commands, not their options).
const { placeAtExchange } = proxyActivities<ExchangeActivities>({
  ...EXCHANGE_ACTIVITY,
  // On cancel, wait for an attempt in flight to finish: if it reached the exchange, the order
  // is placed and the cancel is refused; only a call that certainly ended lets the cancel win.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const { cancelAtExchange } = proxyActivities<ExchangeActivities>(EXCHANGE_ACTIVITY);

export type { FinalStatus } from './messages.js';

export interface PlacementOutcome {
  orderId: string;
  /** The order's final status; `placed` for a workflow from before orders were followed to the end. */
  status: FinalStatus | 'placed';
}

/**
 * Places one order at the exchange. Started by the API with the order as input and an id
 * derived from the order id; once started, Temporal keeps it going across worker crashes.
 * A cancel and the placement race here, in one place: a cancel wins while no exchange call has
 * succeeded, and the exchange itself confirms that an interrupted call never reached it.
 */
export async function placeOrderWorkflow(ticket: OrderTicket): Promise<PlacementOutcome> {
  // Decided first, before any command: a patch checked later, after a local activity, can land
  // in another workflow task on replay than it did when it ran (an Update arriving while the
  // local activity runs), and the replay would then not find its marker where it looks.
  const inOneTask = patched(PLACEMENT_IN_ONE_TASK);
  const attributesAtStart = inOneTask || patched(SEARCH_ATTRIBUTES_AT_START);
  const followsToTerminal = attributesAtStart || patched(FOLLOW_TO_TERMINAL);
  let status: OrderStatus = 'accepted';
  let cancelRequested = false;
  const exchangeCall = new CancellationScope();

  // The status shows in the Web UI twice: as the OrderStatus search attribute (a column of the
  // list, a filter) and as the workflow's current details (on its page). Neither is a command:
  // histories recorded before the details existed replay unchanged.
  const setStatus = (next: OrderStatus) => {
    status = next;
    if (!attributesAtStart || next !== 'placing') upsertSearchAttributes([{ key: ORDER_STATUS, value: next }]);
    setCurrentDetails(orderDetails(next));
  };
  // One line per decided order, written once (the workflow's logger is silent while replaying).
  // The lag is the workflow's time when the step completed, from the order's creation.
  const logDecided = (decided: OrderStatus) =>
    log.info(`order ${decided}`, { orderId: ticket.id, status: decided, lagMs: Date.now() - Date.parse(ticket.createdAt) });
  const requestCancel = () => {
    if (!isFinal(status) && !cancelRequested) {
      cancelRequested = true;
      exchangeCall.cancel();
    }
  };
  setHandler(orderStatusQuery, () => status);
  setHandler(cancelRequestedSignal, requestCancel);
  setHandler(cancelOrderUpdate, async () => {
    requestCancel();
    await condition(() => isFinal(status));
    return status as FinalStatus;
  });
  // The venue's terminal event, relayed once it is committed (the fills themselves never come here):
  // as a signal now, as an Update by the version before (messages.ts says why). Handlers are no
  // commands: histories of either kind replay unchanged.
  let terminal: TerminalEvent | undefined;
  const onTerminal = (event: TerminalEvent) => {
    terminal ??= event;
  };
  setHandler(orderTerminalSignal, onTerminal);
  setHandler(orderTerminalUpdate, onTerminal);
  if (attributesAtStart) {
    // A start the API had to send without them (the namespace did not know them then): the
    // workflow sets them itself, as before. The start's attributes are in the history: deterministic.
    const given = workflowInfo().typedSearchAttributes;
    const missing = orderStartAttributes(ticket).filter(({ key }) => given.get(key) === undefined);
    if (missing.length > 0) upsertSearchAttributes(missing);
  } else {
    upsertSearchAttributes(orderStartAttributes(ticket));
  }
  setCurrentDetails(orderDetails(status));

  const steps = attributesAtStart || patched(LOCAL_DATABASE_STEPS) ? localDatabaseSteps : scheduledDatabaseSteps;
  // Before placement-in-one-workflow-task, recording the placement was a scheduled activity in
  // search-attributes-at-start's histories: the venue's terminal event is often relayed (an
  // Update) while this step runs, and with a local activity of unbounded retries the step could
  // outlast its workflow task, the Update be delivered into the next one, and a replay meet the
  // two in another order than the run did (a nondeterminism error, seen under load). Bounded
  // local attempts keep the whole placement inside one task (activity-options.ts).
  const claimOrder = inOneTask
    ? (orderId: string) =>
        localFirst(
          () => localAttempt.database.claimOrder(orderId),
          () => scheduledDatabaseSteps.claimOrder(orderId),
        )
    : steps.claimOrder;
  const markOrderCancelled = inOneTask
    ? (orderId: string) =>
        localFirst(
          () => localAttempt.database.markOrderCancelled(orderId),
          () => scheduledDatabaseSteps.markOrderCancelled(orderId),
        )
    : steps.markOrderCancelled;
  const markOrderPlaced: OrderStoreActivities['markOrderPlaced'] = inOneTask
    ? (orderId, createdAt, expiresAt) =>
        localFirst(
          () => localAttempt.database.markOrderPlaced(orderId, createdAt, expiresAt),
          () => scheduledDatabaseSteps.markOrderPlaced(orderId, createdAt, expiresAt),
        )
    : attributesAtStart
      ? scheduledDatabaseSteps.markOrderPlaced
      : steps.markOrderPlaced;
  const placeOrder = inOneTask
    ? (order: OrderTicket) =>
        localFirst(
          () => localAttempt.exchange.placeAtExchange(order),
          () => placeAtExchange(order),
          EXCHANGE_ACTIVITY.retry?.nonRetryableErrorTypes,
        )
    : placeAtExchange;
  const claimed = await claimOrder(ticket.id);
  if (isFinal(claimed) || claimed === 'placed' || claimed === 'partially_filled') {
    // An earlier run of this order's workflow placed it already: never again at the exchange.
    setStatus(claimed);
    if (isFinal(claimed) || !followsToTerminal) return { orderId: ticket.id, status: claimed as FinalStatus | 'placed' };
    const final = await followToTerminal(
      ticket.id,
      null,
      () => terminal,
      () => cancelRequested,
    );
    setStatus(final.status);
    return { orderId: ticket.id, status: final.status };
  }
  if (claimed !== 'placing') throw ApplicationFailure.nonRetryable(`Unexpected claim result ${claimed}`, 'InvalidTransition');
  setStatus('placing');

  let reachedExchange = false;
  let expiresAt: string | null = null;
  if (!cancelRequested) {
    try {
      // Histories from before the venue process returned nothing here.
      const placement = await exchangeCall.run(() => placeOrder(ticket));
      expiresAt = placement?.expiresAt ?? null;
      reachedExchange = true;
    } catch (error) {
      // After a cancel, however the call ended (cancelled, timed out, failed), the exchange
      // decides below whether it got the order. Without one, only a non-retryable error ends it.
      if (!cancelRequested && !isCancellation(error)) throw error;
    }
  }
  if (!reachedExchange && cancelWon(await cancelAtExchange(ticket.id, 'cancel'))) {
    await markOrderCancelled(ticket.id);
    setStatus('cancelled');
    logDecided('cancelled');
    return { orderId: ticket.id, status: 'cancelled' };
  }
  await markOrderPlaced(ticket.id, ticket.createdAt, expiresAt);
  setStatus('placed');
  if (!followsToTerminal) {
    logDecided('placed');
    return { orderId: ticket.id, status: 'placed' };
  }
  logDecided('placed');
  const final = await followToTerminal(
    ticket.id,
    expiresAt,
    () => terminal,
    () => cancelRequested,
  );
  setStatus(final.status);
  logDecided(final.status);
  return { orderId: ticket.id, status: final.status };
}

/**
 * The order works at the venue; its reports (fills, the end) go to the ingestion process. Here
 * only the decisions: a client's cancel is sent to the venue, a `day` order still open at its
 * expiry is expired there, and the venue's terminal event, once committed, ends the workflow.
 */
async function followToTerminal(
  orderId: string,
  expiresAt: string | null,
  terminal: () => TerminalEvent | undefined,
  cancelRequested: () => boolean,
): Promise<TerminalEvent> {
  let cancelSent = false;
  let expirySent = expiresAt === null;
  for (;;) {
    const untilExpiry = expirySent || expiresAt === null ? undefined : Math.max(1, Date.parse(expiresAt) - Date.now());
    const woken = await condition(() => terminal() !== undefined || (cancelRequested() && !cancelSent), untilExpiry);
    const event = terminal();
    if (event) return event;
    if (cancelRequested() && !cancelSent) {
      cancelSent = true;
      // The venue answers with the order's state; its end comes back through the stream.
      await cancelAtExchange(orderId, 'cancel');
    } else if (!woken && !expirySent) {
      expirySent = true;
      await cancelAtExchange(orderId, 'expire');
    }
  }
}

/**
 * One local attempt of a step, then its scheduled activity if the attempt failed or timed out.
 * A cancel, and an error no retry can fix (non-retryable, or of a type the scheduled activity's
 * policy does not retry), end the step as they would end the scheduled activity.
 */
async function localFirst<R>(local: () => Promise<R>, scheduled: () => Promise<R>, nonRetryableTypes: readonly string[] = []): Promise<R> {
  try {
    return await local();
  } catch (error) {
    if (isCancellation(error) || isNonRetryable(error, nonRetryableTypes)) throw error;
    return scheduled();
  }
}

function isNonRetryable(error: unknown, nonRetryableTypes: readonly string[]): boolean {
  // A local activity's failure comes as the activity's own failure, a scheduled one's wrapped.
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return (
    failure instanceof ApplicationFailure &&
    (failure.nonRetryable === true || (failure.type !== undefined && failure.type !== null && nonRetryableTypes.includes(failure.type)))
  );
}

/**
 * Whether a cancel at the exchange won. Histories recorded before the venue process answered
 * 'cancelled' | 'already_placed'; they replay through this too.
 */
function cancelWon(result: VenueCancel | 'cancelled' | 'already_placed'): boolean {
  return typeof result === 'string' ? result === 'cancelled' : result.outcome === 'cancelled';
}
