import { type Client, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import { type OrderTicket, workflowIdFor } from '../domain/order.js';
import { orderSummary } from '../domain/order-summary.js';
import { cancelOrderUpdate, cancelRequestedSignal, type FinalStatus } from '../workflows/messages.js';
import type { placeOrderWorkflow } from '../workflows/order-workflow.js';
import { createTurnQueue, TurnMissedError } from './turn-queue.js';

// Less than this left of a request's budget when its turn comes: the start is not sent.
const MIN_TIME_TO_START_MS = 250;

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
  return {
    async start(ticket, deadline) {
      const workflowId = workflowIdFor(ticket.id);
      try {
        // A start sent with almost no time left is answered after its deadline, if at all: its
        // workflow would exist while its request answers 500. Not sent at all is cleaner.
        await queue.run(deadline - MIN_TIME_TO_START_MS, () =>
          client.withDeadline(deadline, () =>
            client.workflow.start<typeof placeOrderWorkflow>('placeOrderWorkflow', {
              workflowId,
              taskQueue,
              args: [ticket],
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              // What the Web UI shows of the order in its list of workflows and on its page.
              staticSummary: orderSummary(ticket),
            }),
          ),
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
   * Asks the order's workflow to cancel it: records the request durably (a signal), then waits
   * until `deadline` for the workflow's decision. Resolves with the outcome, or null if the
   * order has no running workflow; rejects when the request could not be recorded.
   */
  cancel(orderId: string, deadline: number): Promise<CancelOutcome | null>;
}

export function createOrderCancellation(client: Client): OrderCancellation {
  return {
    async cancel(orderId, deadline) {
      const handle = client.workflow.getHandle(workflowIdFor(orderId));
      try {
        await client.withDeadline(deadline, () => handle.signal(cancelRequestedSignal));
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return null;
        throw error;
      }
      try {
        const status = await client.withDeadline(deadline, () => handle.executeUpdate(cancelOrderUpdate));
        return { decided: true, status };
      } catch {
        // The cancel is in the workflow's history and will be decided; the client reads the
        // decision with GET /orders/:id.
        return { decided: false };
      }
    },
  };
}
