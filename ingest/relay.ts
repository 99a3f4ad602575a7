import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import PQueue from 'p-queue';
import type pg from 'pg';
import type { Logger } from '../config/logger.js';
import { type FinalStatus, workflowIdFor } from '../domain/order.js';
import { orderTerminalSignal } from '../temporal/messages.js';
import type { IngestMetrics } from './metrics.js';

export interface RelayOptions {
  pool: pg.Pool;
  temporal: Client;
  logger: Logger;
  metrics: IngestMetrics;
  intervalMs: number;
  concurrency: number;
  /** The deadline of one signal. */
  timeoutMs: number;
  retryMs: number;
}

export interface Relay {
  /** A batch committed terminal events: look now rather than at the next interval. */
  notify(): void;
  stop(): Promise<void>;
}

const PAGE = 200;

/**
 * The terminal relay (docs/executions.md): committed outbox rows not yet relayed go to their
 * order's workflow as the signal `orderTerminalReported`, each within a deadline; once Temporal
 * has accepted it, it is in the workflow's history, and the row is marked relayed. A repeat after
 * a crash (signalled, not yet marked) is a second signal, which the workflow ignores. A workflow that is gone (none, or already
 * completed) has nothing to wait for: marked relayed too. A failure is tried again after
 * `retryMs`. Only terminal events ever reach Temporal, never a fill.
 */
export function startRelay(options: RelayOptions): Relay {
  const { pool, temporal, logger, metrics } = options;
  const retryAt = new Map<string, number>();
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  const relayOne = async (row: { order_id: string; status: FinalStatus; filled_quantity: number }): Promise<boolean> => {
    const handle = temporal.workflow.getHandle(workflowIdFor(row.order_id));
    try {
      await temporal.connection.withDeadline(Date.now() + options.timeoutMs, () =>
        handle.signal(orderTerminalSignal, { status: row.status, filledQuantity: row.filled_quantity }),
      );
      metrics.relayed.inc({ outcome: 'delivered' });
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError || /already completed/i.test(String((error as Error)?.message))) {
        metrics.relayed.inc({ outcome: 'no_workflow' });
        logger.debug({ orderId: row.order_id }, 'terminal event: the order has no running workflow');
        return true;
      }
      metrics.relayed.inc({ outcome: 'failed' });
      retryAt.set(row.order_id, Date.now() + options.retryMs);
      logger.warn({ err: error, orderId: row.order_id, status: row.status }, 'terminal relay failed; will try again');
      return false;
    }
  };

  // Rows being relayed now: a round never waits for them, so one slow signal holds up no other
  // order's event.
  const inFlight = new Set<string>();
  // Two lanes: an event's first try, and the tries again of events that failed before. A row that
  // keeps failing by timing out waits out its deadline on every try; in one lane, enough of them
  // would fill every slot for good and starve the new events behind.
  const firstTries = new PQueue({ concurrency: options.concurrency });
  const tryAgain = new PQueue({ concurrency: Math.max(1, Math.floor(options.concurrency / 4)) });
  const failedBefore = new Set<string>();

  const relayAndMark = async (row: { order_id: string; status: FinalStatus; filled_quantity: number }): Promise<void> => {
    try {
      if (stopped) return;
      if (!(await relayOne(row))) {
        failedBefore.add(row.order_id);
        return;
      }
      retryAt.delete(row.order_id);
      failedBefore.delete(row.order_id);
      await pool.query('UPDATE order_terminal_outbox SET relayed_at = now() WHERE order_id = $1::uuid AND relayed_at IS NULL', [
        row.order_id,
      ]);
    } catch (error) {
      retryAt.set(row.order_id, Date.now() + options.retryMs);
      logger.warn({ err: error, orderId: row.order_id }, 'terminal relay: could not mark the event relayed; will try again');
    } finally {
      inFlight.delete(row.order_id);
    }
  };

  const round = async (): Promise<void> => {
    const now = Date.now();
    for (const [id, at] of retryAt) if (at <= now) retryAt.delete(id);
    // Rows in flight or waiting to be tried again are left out in the query itself: however many
    // there are, the newer events behind them are still read.
    const skip = [...inFlight, ...retryAt.keys()];
    const { rows } = await pool.query(
      `SELECT order_id, status::text AS status, filled_quantity FROM order_terminal_outbox
        WHERE relayed_at IS NULL AND NOT (order_id = ANY($1::uuid[])) ORDER BY created_at LIMIT ${PAGE}`,
      [skip],
    );
    for (const row of rows as { order_id: string; status: FinalStatus; filled_quantity: number }[]) {
      inFlight.add(row.order_id);
      void (failedBefore.has(row.order_id) ? tryAgain : firstTries).add(() => relayAndMark(row));
    }
  };

  const done = (async () => {
    while (!stopped) {
      try {
        await round();
      } catch (error) {
        logger.warn({ err: error }, 'terminal relay round failed');
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, options.intervalMs);
      });
      wake = undefined;
    }
  })();

  return {
    notify: () => wake?.(),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await done;
      for (const lane of [firstTries, tryAgain]) lane.clear();
      await Promise.all([firstTries.onIdle(), tryAgain.onIdle()]);
    },
  };
}
