import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type pg from 'pg';
import type { Logger } from '../config/logger.js';
import { type FinalStatus, workflowIdFor } from '../domain/order.js';
import { orderTerminalUpdate, terminalUpdateId } from '../workflows/messages.js';
import type { IngestMetrics } from './metrics.js';

export interface RelayOptions {
  pool: pg.Pool;
  temporal: Client;
  logger: Logger;
  metrics: IngestMetrics;
  intervalMs: number;
  concurrency: number;
  updateTimeoutMs: number;
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
 * order's workflow as the Update `orderTerminal`, with the update id `terminal-<order id>`
 * (Temporal refuses a second Update of that id, so a repeat after a crash is harmless), each
 * within a deadline; then the row is marked relayed. A workflow that is gone (none, or already
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
      await temporal.connection.withDeadline(Date.now() + options.updateTimeoutMs, () =>
        handle.executeUpdate(orderTerminalUpdate, {
          args: [{ status: row.status, filledQuantity: row.filled_quantity }],
          updateId: terminalUpdateId(row.order_id),
        }),
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

  const round = async (): Promise<void> => {
    const now = Date.now();
    const { rows } = await pool.query(
      `SELECT order_id, status::text AS status, filled_quantity FROM order_terminal_outbox
        WHERE relayed_at IS NULL ORDER BY created_at LIMIT ${PAGE}`,
    );
    const due = (rows as { order_id: string; status: FinalStatus; filled_quantity: number }[]).filter(
      (row) => (retryAt.get(row.order_id) ?? 0) <= now,
    );
    const relayed: string[] = [];
    let next = 0;
    const lane = async () => {
      while (!stopped && next < due.length) {
        const row = due[next++]!;
        if (await relayOne(row)) relayed.push(row.order_id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, due.length) }, lane));
    if (relayed.length > 0) {
      for (const id of relayed) retryAt.delete(id);
      await pool.query('UPDATE order_terminal_outbox SET relayed_at = now() WHERE order_id = ANY($1::uuid[]) AND relayed_at IS NULL', [
        relayed,
      ]);
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
    },
  };
}
