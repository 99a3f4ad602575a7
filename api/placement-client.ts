import {
  type Client,
  ServiceError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowUpdateHandle,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import { DEMO_ACCOUNT_ID } from '../domain/accounts.js';
import { isFinal, type OrderTicket, workflowIdFor } from '../domain/order.js';
import { orderSummary } from '../domain/order-summary.js';
import {
  AMEND_REFUSALS,
  type AmendOutcome,
  type AmendRefusal,
  type AmendRequest,
  amendOrderUpdate,
  cancelRequestedSignal,
  type FinalStatus,
  type PlaceOrderWorkflow,
} from '../temporal/messages.js';
import { registerSearchAttributes } from '../temporal/search-attribute-registration.js';
import { ACCOUNT_ID, ORDER_SEARCH_ATTRIBUTES, orderStartAttributes } from '../temporal/search-attributes.js';
import { createTurnQueue, TurnMissedError } from './turn-queue.js';

// Less than this left of a request's budget when its turn comes: the start is not sent.
const MIN_TIME_TO_START_MS = 250;
// After the API failed to register the search attributes, how long until it tries again.
const REGISTRATION_RETRY_MS = 30_000;

export interface PlacementStarter {
  /**
   * Resolves once Temporal has durably recorded the workflow's start; rejects otherwise, at the
   * latest at `deadline` (epoch ms). A rejection does not say the workflow was not started.
   */
  start(ticket: OrderTicket, deadline: number): Promise<{ workflowId: string }>;
}

/**
 * Starts the order's workflow. The id is derived from the order id and never reused, so however
 * often this is called for one order, at most one workflow places it. At most `concurrency`
 * starts are in flight per API process; the others wait their turn, in arrival order, until
 * their deadline. That keeps a burst from piling onto Temporal at once (each start then takes
 * longer than any of them would in turn) and lets every request use its whole time budget.
 */
export function createPlacementStarter(client: Client, taskQueue: string, concurrency: number): PlacementStarter {
  const queue = createTurnQueue(concurrency);
  // The API may start workflows before any worker registered the search attributes on the
  // namespace (the dev server has them from its start flags, a cluster from the first worker):
  // then it registers them itself, once per process, and a start it cannot give them (no right
  // to register) goes without any rather than fail the order; the workflow then upserts all but
  // AccountId itself. A failed registration is
  // tried again only after a while: meanwhile a start costs one refused round trip, not a registration too.
  let registration: Promise<boolean> | undefined;
  const register = () => {
    registration ??= registerSearchAttributes(client.connection, client.options.namespace).then(
      () => true,
      () => {
        setTimeout(() => {
          registration = undefined;
        }, REGISTRATION_RETRY_MS).unref();
        return false;
      },
    );
    return registration;
  };
  const startWorkflow = (ticket: OrderTicket, workflowId: string, withAttributes: boolean) =>
    client.workflow.start<PlaceOrderWorkflow>('placeOrderWorkflow', {
      workflowId,
      taskQueue,
      args: [ticket],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      // What the Web UI shows of the order in its list of workflows and on its page.
      staticSummary: orderSummary(ticket),
      // Set with the start, not upserted by the workflow: no command, and the order is a filter
      // of the Web UI's list (by account, instrument, status) from the workflow's first moment.
      ...(withAttributes && {
        typedSearchAttributes: new TypedSearchAttributes([
          ...orderStartAttributes(ticket),
          { key: ACCOUNT_ID, value: ticket.accountId ?? DEMO_ACCOUNT_ID },
        ]),
      }),
    });
  const startWithAttributes = async (ticket: OrderTicket, workflowId: string) => {
    try {
      return await startWorkflow(ticket, workflowId, true);
    } catch (error) {
      // Refused before anything was recorded: the same start again is safe.
      if (!isUnregisteredSearchAttribute(error)) throw error;
    }
    if (await register()) {
      try {
        return await startWorkflow(ticket, workflowId, true);
      } catch (error) {
        if (!isUnregisteredSearchAttribute(error)) throw error;
      }
    }
    return startWorkflow(ticket, workflowId, false);
  };
  return {
    async start(ticket, deadline) {
      const workflowId = workflowIdFor(ticket.id);
      try {
        // A start sent with almost no time left is answered after its deadline, if at all: its
        // workflow would exist while its request answers 500. Not sent at all is cleaner.
        await queue.run(deadline - MIN_TIME_TO_START_MS, () =>
          client.withDeadline(deadline, () => startWithAttributes(ticket, workflowId)),
        );
      } catch (error) {
        // Sent, and the deadline came as it answered: its own error says what Temporal did.
        if (error instanceof TurnMissedError) throw new StartNotSentError(workflowId, { cause: error });
        throw error;
      }
      return { workflowId };
    },
  };
}

const GRPC_INVALID_ARGUMENT = 3;

/** Temporal refused a start because the namespace does not know one of the order's search attributes. */
function isUnregisteredSearchAttribute(error: unknown): boolean {
  if (!(error instanceof ServiceError)) return false;
  const cause = error.cause as { code?: number; details?: string } | undefined;
  const details = cause?.details ?? '';
  return (
    cause?.code === GRPC_INVALID_ARGUMENT &&
    /search attribute/i.test(details) &&
    ORDER_SEARCH_ATTRIBUTES.some((key) => details.includes(key.name))
  );
}

/** A workflow start that waited for its turn until its deadline and was never sent. */
export class StartNotSentError extends Error {
  override readonly name = 'StartNotSentError';
  constructor(workflowId: string, options?: ErrorOptions) {
    super(`The start of ${workflowId} waited for its turn until (almost) its deadline`, options);
  }
}

/** How a cancel went: decided by the workflow, or recorded and still to be decided. */
export type CancelOutcome = { decided: true; status: FinalStatus } | { decided: false };

export interface OrderCancellation {
  /**
   * Records the cancel in the order's workflow (a signal: durable once this resolves), at the
   * latest by `deadline`. Resolves true once recorded, false if the order has no running
   * workflow; rejects when it could not be recorded.
   */
  request(orderId: string, deadline: number): Promise<boolean>;
  /**
   * Waits until `deadline` for the workflow's decision on a recorded cancel, which is its end:
   * cancelled, or the status the order ended in at the venue. Never rejects: not decided in
   * time (or not known) is `{ decided: false }`.
   */
  decision(orderId: string, deadline: number): Promise<CancelOutcome>;
}

export function createOrderCancellation(client: Client): OrderCancellation {
  const handleOf = (orderId: string) => client.workflow.getHandle<PlaceOrderWorkflow>(workflowIdFor(orderId));
  return {
    async request(orderId, deadline) {
      try {
        await client.withDeadline(deadline, () => handleOf(orderId).signal(cancelRequestedSignal));
        return true;
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    },
    async decision(orderId, deadline) {
      try {
        // The workflow's result, long-polled from the server: no message to the workflow, so
        // nothing a worker must take in while the placement's local activities run (an Update
        // did that until now; temporal/messages.ts says why that is avoided).
        const { status } = await client.withDeadline(deadline, () => handleOf(orderId).result());
        // `placed` ends only workflows from before orders were followed to their end.
        return isFinal(status) ? { decided: true, status } : { decided: false };
      } catch {
        // The cancel is in the workflow's history and will be decided; the client reads the
        // decision with GET /orders/:id.
        return { decided: false };
      }
    },
  };
}

/** How an amend went: decided by the workflow (amended, or refused naming why), or asked and still to be decided. */
export type AmendResult = { decided: true; outcome: AmendOutcome } | { decided: false };

export interface OrderAmendment {
  /**
   * Asks the order's workflow to amend it (the amendOrder Update, with `updateId`: the same id
   * again is the same amend, Temporal answers it once), and waits until `deadline` for the
   * decision. Resolves with the outcome (a refusal of its validator too: the order not working
   * at the venue yet, final, or being cancelled), `decided: false` when the deadline came first,
   * or null when the order has no workflow; rejects when the request could not be sent.
   */
  amend(orderId: string, request: AmendRequest, deadline: number, updateId: string): Promise<AmendResult | null>;
}

export function createOrderAmendment(client: Client): OrderAmendment {
  return {
    async amend(orderId, request, deadline, updateId) {
      const handle = client.workflow.getHandle<PlaceOrderWorkflow>(workflowIdFor(orderId));
      let update: WorkflowUpdateHandle<AmendOutcome>;
      try {
        update = await client.withDeadline(deadline, () =>
          handle.startUpdate(amendOrderUpdate, { args: [request], updateId, waitForStage: WorkflowUpdateStage.ACCEPTED }),
        );
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return null;
        const refusal = validatorRefusal(error);
        if (refusal) return { decided: true, outcome: refusal };
        // Not accepted within the budget (no worker took it in yet): asked, not decided.
        if (Date.now() >= deadline - 50 || isDeadlineExceeded(error)) return { decided: false };
        throw error;
      }
      try {
        const outcome: AmendOutcome = await client.withDeadline(deadline, () => update.result());
        return { decided: true, outcome };
      } catch (error) {
        const refusal = validatorRefusal(error);
        if (refusal) return { decided: true, outcome: refusal };
        // Accepted: it is in the workflow's history and will be decided.
        return { decided: false };
      }
    },
  };
}

/** The workflow's validator refused the amend (an ApplicationFailure whose type names why). */
function validatorRefusal(error: unknown): AmendOutcome | undefined {
  if (!(error instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = error.cause;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  const reason: AmendRefusal = (AMEND_REFUSALS as readonly string[]).includes(type ?? '') ? (type as AmendRefusal) : 'final';
  return { outcome: 'refused', reason, message: cause?.message ?? error.message, filledQuantity: null };
}

const GRPC_DEADLINE_EXCEEDED = 4;

function isDeadlineExceeded(error: unknown): boolean {
  const cause = (error as { cause?: { code?: number } } | undefined)?.cause;
  return error instanceof ServiceError && cause?.code === GRPC_DEADLINE_EXCEEDED;
}
