import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { workflowIdFor } from '../../domain/order.js';
import { readLedger } from '../../exchange/exchange-ledger.js';
import { reachedExchange } from './orders.js';
import { waitFor } from './wait.js';

export interface Diagnosis {
  /** Waits until the order has `status`; on a timeout, the failure says where the order is. */
  waitForPlaced(orderId: string, timeoutMs?: number): Promise<void>;
  /** For a failure message: the order's status and what its workflow is doing. */
  whereIs(orderId: string): Promise<string>;
  /** The exchange's ledger entries of one order id. */
  ledgerOf(orderId: string): ReturnType<typeof readLedger>;
}

/** Reads orders through `db`, workflows through `temporal`, the exchange's ledger at `databaseUrl`. */
export function diagnosis(parts: { db: () => pg.Client; temporal: () => Client; databaseUrl: string }): Diagnosis {
  async function statusOf(orderId: string): Promise<string | undefined> {
    const { rows } = await parts.db().query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId]);
    return rows[0]?.status;
  }

  async function whereIs(orderId: string): Promise<string> {
    const status = await statusOf(orderId);
    let workflow: string;
    try {
      const description = await parts.temporal().workflow.getHandle(workflowIdFor(orderId)).describe();
      const pending = (description.raw.pendingActivities ?? []).map((activity) => ({
        type: activity.activityType?.name,
        attempt: activity.attempt,
        state: activity.state,
        lastFailure: activity.lastFailure?.message,
      }));
      workflow = `workflow ${description.status.name}, pending activities ${JSON.stringify(pending)}`;
    } catch (error) {
      workflow = `workflow: ${String(error)}`;
    }
    return `order status ${status ?? '(none)'}; ${workflow}`;
  }

  /** Until the exchange has the order: `placed`, or what its reports made of it since. */
  async function waitForPlaced(orderId: string, timeoutMs = 60_000): Promise<void> {
    try {
      await waitFor(
        async () => (reachedExchange((await statusOf(orderId)) ?? '') ? true : undefined),
        timeoutMs,
        `order ${orderId} to be placed`,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n  ${await whereIs(orderId)}`);
    }
  }

  async function ledgerOf(orderId: string) {
    return (await readLedger(parts.databaseUrl)).filter((entry) => entry.orderId === orderId);
  }

  return { waitForPlaced, whereIs, ledgerOf };
}
