import type pg from 'pg';
import { unitsText } from '../domain/decimal.js';
import { moneyText } from '../domain/positions.js';
import type { ExecutionReport } from '../exchange/protocol.js';
import type { FillEvent } from './batch-plan.js';
import { type CopyValue, copyField, copyLines, copyRows } from './copy-rows.js';

/**
 * The rows a batch writes with COPY (docs/executions.md, "Batches"): its executions and its fill
 * events, in COPY's text format. An execution's row is a fact of its report alone, so its text is
 * made when the line is read (`executionLine`, while the batch before commits), and the batch
 * only puts its reserved id in front.
 */

/** The executions table's columns a report fills, in the order of `executionLine`; `id` first, from reserveExecutionIds. */
const EXECUTION_COLUMNS = [
  'id',
  'venue',
  'exec_id',
  'order_id',
  'seq',
  'exec_type',
  'order_status',
  'last_qty',
  'last_px',
  'cum_qty',
  'leaves_qty',
  'avg_px',
  'ref_exec_id',
  'text',
  'venue_time',
] as const;

/** A report's executions row, all but its id, in COPY's text format (no line end). */
export function executionLine(r: ExecutionReport): string {
  const fields: CopyValue[] = [
    r.venue,
    r.exec_id,
    r.order_id,
    r.seq,
    r.exec_type,
    r.order_status,
    r.last_qty,
    r.last_px,
    r.cum_qty,
    r.leaves_qty,
    r.avg_px,
    r.ref_exec_id,
    r.text,
    r.transact_time,
  ];
  return fields.map(copyField).join('\t');
}

/**
 * Executions with one COPY: each report's line (made when it was read, or now), after its id
 * (null: the column's default, for the benchmark's limit, which copies the same rows alone). An
 * exec id already stored fails it (unique key): the batch checked its exec ids under its locks,
 * so that means another writer slipped past the fence.
 */
export function copyExecutions(
  client: pg.PoolClient | pg.Client,
  reports: readonly ExecutionReport[],
  ids: readonly string[] | null,
  lines: ReadonlyMap<ExecutionReport, string> = new Map(),
): Promise<number> {
  const lineOf = (report: ExecutionReport) => lines.get(report) ?? executionLine(report);
  let text = '';
  for (const [index, report] of reports.entries()) text += `${ids === null ? '' : `${ids[index]!}\t`}${lineOf(report)}\n`;
  return copyLines(client, 'executions', ids === null ? EXECUTION_COLUMNS.slice(1) : EXECUTION_COLUMNS, reports.length, text);
}

/** `count` ids of the executions sequence, so that the batch's fill rows can name their executions before COPY writes them. */
export async function reserveExecutionIds(client: pg.PoolClient, count: number): Promise<string[]> {
  const { rows } = await client.query<{ ids: string }>(
    `SELECT array_to_string(ARRAY(SELECT nextval('executions_id_seq') FROM generate_series(1, $1::int)), ',') AS ids`,
    [count],
  );
  return rows[0]!.ids.split(',');
}

/**
 * The columns of a fill row of order_stream (migrations …_order_stream_fill_columns and
 * …_positions: the position after the fill), in the order of `fillRow`.
 */
const FILL_COLUMNS = [
  'order_id',
  'account_id',
  'kind',
  'execution_id',
  'status',
  'filled_quantity',
  'filled_notional',
  'placed_at',
  'filled_at',
  'cancelled_at',
  'expired_at',
  'rejected_at',
  'rejected_reason',
  'expires_at',
  'position_quantity',
  'position_average_entry_price',
  'position_realized_pnl',
  'position_updated_at',
] as const;

const fillRow = (fill: FillEvent, executionId: string): CopyValue[] => {
  const order = fill.order;
  return [
    fill.orderId,
    fill.accountId,
    fill.kind,
    executionId,
    order.status,
    order.filledQuantity,
    unitsText(order.filledNotional, 4),
    order.placedAt,
    order.filledAt,
    order.cancelledAt,
    order.expiredAt,
    order.rejectedAt,
    order.rejectedReason,
    fill.expiresAt,
    fill.position?.quantity ?? null,
    fill.position ? moneyText(fill.position.averageEntryPrice) : null,
    fill.position ? moneyText(fill.position.realizedPnl) : null,
    fill.position?.updatedAt ?? null,
  ];
};

/** The `fill` rows of order_stream, in the order given, each naming its execution. */
export async function copyFillEvents(
  client: pg.PoolClient,
  fills: readonly FillEvent[],
  executionIds: ReadonlyMap<ExecutionReport, string>,
): Promise<void> {
  await copyRows(
    client,
    'order_stream',
    FILL_COLUMNS,
    fills.map((fill) => {
      const id = executionIds.get(fill.report);
      if (id === undefined) throw new Error(`fill ${fill.report.exec_id} has no execution in its batch`);
      return fillRow(fill, id);
    }),
  );
}
