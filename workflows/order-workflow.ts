import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PlacementAttempt } from '../activities/placement-attempt.js';
import { isFinal, type OrderStatus, type OrderTicket } from '../domain/order.js';
import { orderDetails } from '../domain/order-summary.js';
import {
  type AmendOutcome,
  type AmendRequest,
  amendOrderUpdate,
  cancelOrderUpdate,
  cancelRequestedSignal,
  type FinalStatus,
  orderStatusQuery,
  orderTerminalSignal,
  orderTerminalUpdate,
  type PlacementOutcome,
  type PlaceOrderWorkflow,
  type TerminalEvent,
} from '../temporal/messages.js';
import { ORDER_STATUS, orderStartAttributes } from '../temporal/search-attributes.js';
import { amendAtExchange, amendOutcome, cancelAtExchange, cancelWon, placeInOneAttempt, placementSteps } from './placement-steps.js';

// The workflow's versions, each a patch (placement-steps.ts has the steps each one takes).
// The order store's steps as local activities (histories before: scheduled ones).
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
// From this change on, those three local attempts are one (claimPlaceAndRecord: one marker, one
// workflow activation and one local activity of the worker instead of three of each); a step it
// reports failed is retried by its scheduled activity, as after its own local attempt. It stands
// for the earlier patches as placement-in-one-workflow-task does.
const PLACEMENT_IN_ONE_ATTEMPT = 'placement-in-one-local-attempt';
// From this change on, the workflow takes a client's amend (the amendOrder Update, issue #26)
// and asks the venue to replace its working order. Checked in the Update's handler, where the
// amend's commands begin, not at the start: a history without an amend has no marker and replays
// as before, whichever version started it; an order placed before this version is amendable too.
const AMEND_ORDER = 'amend-order';

export type { FinalStatus, PlacementOutcome } from '../temporal/messages.js';

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
  const inOneAttempt = patched(PLACEMENT_IN_ONE_ATTEMPT);
  const inOneTask = inOneAttempt || patched(PLACEMENT_IN_ONE_TASK);
  const attributesAtStart = inOneTask || patched(SEARCH_ATTRIBUTES_AT_START);
  const followsToTerminal = attributesAtStart || patched(FOLLOW_TO_TERMINAL);
  let status: OrderStatus = 'accepted';
  let cancelRequested = false;
  const exchangeCall = new CancellationScope();
  // The order as its latest amend made it, for the workflow's details.
  let lastAmend: Extract<AmendOutcome, { outcome: 'amended' }> | undefined;

  // The status shows in the Web UI twice: as the OrderStatus search attribute (a column of the
  // list, a filter) and as the workflow's current details (on its page). Neither is a command:
  // histories recorded before the details existed replay unchanged.
  const setStatus = (next: OrderStatus) => {
    status = next;
    if (!attributesAtStart || next !== 'placing') upsertSearchAttributes([{ key: ORDER_STATUS, value: next }]);
    setCurrentDetails(orderDetails(next, lastAmend));
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
  // as a signal now, as an Update by the version before (temporal/messages.ts says why). Handlers are no
  // commands: histories of either kind replay unchanged.
  let terminal: TerminalEvent | undefined;
  const onTerminal = (event: TerminalEvent) => {
    terminal ??= event;
  };
  setHandler(orderTerminalSignal, onTerminal);
  setHandler(orderTerminalUpdate, onTerminal);

  // Amend (PATCH /orders/{id}): only while the order works at the venue and this workflow waits
  // for its end (no local activity then: see temporal/messages.ts). The validator refuses before anything
  // is recorded; an accepted amend is an event of the history, its outcome too.
  let atVenue = false;
  let expiresAt: string | null = null;
  let amends = 0;
  setHandler(
    amendOrderUpdate,
    async (request: AmendRequest): Promise<AmendOutcome> => {
      if (!patched(AMEND_ORDER)) throw ApplicationFailure.nonRetryable('this workflow does not take amends', 'not_working_yet');
      const answer = await amendAtExchange(ticket.id, request);
      const outcome = amendOutcome(answer);
      if (outcome.outcome === 'amended') {
        amends += 1;
        expiresAt = outcome.expiresAt;
        lastAmend = outcome;
        setCurrentDetails(orderDetails(status, outcome));
      }
      return outcome;
    },
    {
      validator: (_request: AmendRequest) => {
        if (terminal !== undefined || isFinal(status))
          throw ApplicationFailure.nonRetryable(`the order is ${terminal?.status ?? status}`, 'final');
        if (cancelRequested) throw ApplicationFailure.nonRetryable('a cancel of the order was asked first', 'cancel_requested');
        if (!atVenue) throw ApplicationFailure.nonRetryable(`the order is not working at the venue yet (${status})`, 'not_working_yet');
      },
    },
  );
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

  const steps = placementSteps({ inOneTask, attributesAtStart, localDatabaseSteps: attributesAtStart || patched(LOCAL_DATABASE_STEPS) });
  // A cancel taken before the placement started (in the same activation as the start) is
  // decided by the steps one by one, as before: claimed, then cancelled at the exchange.
  const attempt: PlacementAttempt | undefined =
    inOneAttempt && !cancelRequested ? await placeInOneAttempt(ticket, exchangeCall, () => cancelRequested) : undefined;
  const claimed = attempt ? attempt.claimed : await steps.claimOrder(ticket.id);
  if (isFinal(claimed) || claimed === 'placed' || claimed === 'partially_filled') {
    // An earlier run of this order's workflow placed it already: never again at the exchange.
    setStatus(claimed);
    if (isFinal(claimed) || !followsToTerminal) return { orderId: ticket.id, status: claimed as FinalStatus | 'placed' };
    atVenue = true;
    const final = await followToTerminal(
      ticket.id,
      () => expiresAt,
      () => amends,
      () => terminal,
      () => cancelRequested,
    );
    atVenue = false;
    setStatus(final.status);
    return { orderId: ticket.id, status: final.status };
  }
  if (claimed !== 'placing') throw ApplicationFailure.nonRetryable(`Unexpected claim result ${claimed}`, 'InvalidTransition');
  setStatus('placing');

  let reachedExchange = attempt?.placement != null;
  expiresAt = attempt?.placement?.expiresAt ?? null;
  if (!reachedExchange && !cancelRequested) {
    try {
      // Histories from before the venue process returned nothing here. After a failed call in
      // the one local attempt, the scheduled activity's retries.
      const placement = await exchangeCall.run(() => (attempt ? steps.scheduled.placeAtExchange(ticket) : steps.placeOrder(ticket)));
      expiresAt = placement?.expiresAt ?? null;
      reachedExchange = true;
    } catch (error) {
      // After a cancel, however the call ended (cancelled, timed out, failed), the exchange
      // decides below whether it got the order. Without one, only a non-retryable error ends it.
      if (!cancelRequested && !isCancellation(error)) throw error;
    }
  }
  if (!reachedExchange && cancelWon(await cancelAtExchange(ticket.id, 'cancel'))) {
    await steps.markOrderCancelled(ticket.id);
    setStatus('cancelled');
    logDecided('cancelled');
    return { orderId: ticket.id, status: 'cancelled' };
  }
  if (!attempt?.recorded) {
    // Local first as before; after the one local attempt placed the order but failed to record
    // it, the scheduled activity alone (that attempt was the record's local one).
    const record = attempt?.placement ? steps.scheduled.markOrderPlaced : steps.markOrderPlaced;
    await record(ticket.id, ticket.createdAt, expiresAt);
  }
  setStatus('placed');
  if (!followsToTerminal) {
    logDecided('placed');
    return { orderId: ticket.id, status: 'placed' };
  }
  logDecided('placed');
  atVenue = true;
  const final = await followToTerminal(
    ticket.id,
    () => expiresAt,
    () => amends,
    () => terminal,
    () => cancelRequested,
  );
  atVenue = false;
  setStatus(final.status);
  logDecided(final.status);
  return { orderId: ticket.id, status: final.status };
}

// Clients type their starts and handles by temporal/messages.ts's signature, not by this module
// (which they must not load): this keeps the two the same.
placeOrderWorkflow satisfies PlaceOrderWorkflow;

/**
 * The order works at the venue; its reports (fills, the end) go to the ingestion process. Here
 * only the decisions: a client's cancel is sent to the venue, a `day` order still open at its
 * expiry is expired there, and the venue's terminal event, once committed, ends the workflow.
 * An amend that changed the order's expiry (its time in force) wakes it to wait for the new one.
 */
async function followToTerminal(
  orderId: string,
  expiry: () => string | null,
  amends: () => number,
  terminal: () => TerminalEvent | undefined,
  cancelRequested: () => boolean,
): Promise<TerminalEvent> {
  let cancelSent = false;
  let expirySent = false;
  for (;;) {
    const expiresAt = expiry();
    const amendsBefore = amends();
    const untilExpiry = expirySent || expiresAt === null ? undefined : Math.max(1, Date.parse(expiresAt) - Date.now());
    const woken = await condition(
      () => terminal() !== undefined || (cancelRequested() && !cancelSent) || (amends() !== amendsBefore && expiry() !== expiresAt),
      untilExpiry,
    );
    const event = terminal();
    if (event) return event;
    if (cancelRequested() && !cancelSent) {
      cancelSent = true;
      // The venue answers with the order's state; its end comes back through the stream.
      await cancelAtExchange(orderId, 'cancel');
    } else if (untilExpiry !== undefined && !woken && !expirySent) {
      // Timed out (condition without a timeout resolves with nothing: not a time-out).
      expirySent = true;
      await cancelAtExchange(orderId, 'expire');
    }
  }
}
