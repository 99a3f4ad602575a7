import {
  ActivityCancellationType,
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
} from '@temporalio/workflow';
import type { ExchangeActivities } from '../activities/exchange-activities.js';
import type { OrderStoreActivities } from '../activities/order-store-activities.js';
import { isFinal, type OrderStatus, type OrderTicket } from '../domain/order.js';
import { orderDetails } from '../domain/order-summary.js';
import { DATABASE_ACTIVITY, EXCHANGE_ACTIVITY } from './activity-options.js';
import { cancelOrderUpdate, cancelRequestedSignal, type FinalStatus, orderStatusQuery } from './messages.js';
import { INSTRUMENT, ORDER_ID, ORDER_STATUS, SIDE } from './search-attributes.js';

const scheduledDatabaseSteps = proxyActivities<OrderStoreActivities>(DATABASE_ACTIVITY);
// The order store's steps as local activities: they run inside the workflow task that needs them
// and are recorded as one marker event, instead of a scheduled/started/completed triple and a
// workflow task of their own. That halves the Temporal round trips of an order (measured in
// docs/benchmarks.md). Histories started before this change keep replaying on scheduled ones.
const localDatabaseSteps = proxyLocalActivities<OrderStoreActivities>(DATABASE_ACTIVITY);
const LOCAL_DATABASE_STEPS = 'database-steps-as-local-activities';
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
  status: FinalStatus;
}

/**
 * Places one order at the exchange. Started by the API with the order as input and an id
 * derived from the order id; once started, Temporal keeps it going across worker crashes.
 * A cancel and the placement race here, in one place: a cancel wins while no exchange call has
 * succeeded, and the exchange itself confirms that an interrupted call never reached it.
 */
export async function placeOrderWorkflow(ticket: OrderTicket): Promise<PlacementOutcome> {
  let status: OrderStatus = 'accepted';
  let cancelRequested = false;
  const exchangeCall = new CancellationScope();

  // The status shows in the Web UI twice: as the OrderStatus search attribute (a column of the
  // list, a filter) and as the workflow's current details (on its page). Neither is a command:
  // histories recorded before the details existed replay unchanged.
  const setStatus = (next: OrderStatus) => {
    status = next;
    upsertSearchAttributes([{ key: ORDER_STATUS, value: next }]);
    setCurrentDetails(orderDetails(next));
  };
  // One line per decided order, written once (the workflow's logger is silent while replaying).
  // The lag is the workflow's time when the step completed, from the order's creation.
  const logDecided = (decided: 'placed' | 'cancelled') =>
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
  upsertSearchAttributes([
    { key: ORDER_ID, value: ticket.id },
    { key: INSTRUMENT, value: ticket.instrument },
    { key: SIDE, value: ticket.side },
    { key: ORDER_STATUS, value: status },
  ]);
  setCurrentDetails(orderDetails(status));

  const { claimOrder, markOrderPlaced, markOrderCancelled } = patched(LOCAL_DATABASE_STEPS) ? localDatabaseSteps : scheduledDatabaseSteps;
  const claimed = await claimOrder(ticket.id);
  if (isFinal(claimed)) {
    // 'placed': an earlier run of this workflow already finished the job.
    setStatus(claimed);
    return { orderId: ticket.id, status: claimed };
  }
  if (claimed !== 'placing') throw ApplicationFailure.nonRetryable(`Unexpected claim result ${claimed}`, 'InvalidTransition');
  setStatus('placing');

  let reachedExchange = false;
  if (!cancelRequested) {
    try {
      await exchangeCall.run(() => placeAtExchange(ticket));
      reachedExchange = true;
    } catch (error) {
      // After a cancel, however the call ended (cancelled, timed out, failed), the exchange
      // decides below whether it got the order. Without one, only a non-retryable error ends it.
      if (!cancelRequested && !isCancellation(error)) throw error;
    }
  }
  if (!reachedExchange && (await cancelAtExchange(ticket.id)) === 'cancelled') {
    await markOrderCancelled(ticket.id);
    setStatus('cancelled');
    logDecided('cancelled');
    return { orderId: ticket.id, status: 'cancelled' };
  }
  await markOrderPlaced(ticket.id, ticket.createdAt);
  setStatus('placed');
  logDecided('placed');
  return { orderId: ticket.id, status: 'placed' };
}
