import { z } from 'zod';
import { isPrice } from '../domain/decimal.js';
import { TIME_IN_FORCE } from '../domain/order.js';
import { EXEC_TYPES, type ExecutionReport, executionReport, VENUE_ORDER_STATUSES } from './protocol.js';

/**
 * The ingestion reads tens of thousands of execution reports a second (issue #23), and zod's
 * parse of one cost more than the JSON.parse before it. This is the same check as
 * `executionReport` (exchange/protocol.ts), written out for the hot path: it accepts exactly what
 * the schema accepts and returns what the schema returns (the schema's fields only, unknown keys
 * dropped); for anything it refuses, `parseExecutionReport` asks the schema, for its message.
 * test/unit/report-check.test.ts holds the two to the same answers.
 */

// The schema's own patterns (zod's `z.uuid()` and `z.iso.datetime()` with their defaults).
const UUID = z.regexes.uuid();
const DATETIME = z.regexes.datetime({});
const AVERAGE_PRICE = /^\d{1,16}\.\d{6}$/;
const MAX_QUANTITY = 2_147_483_647;
const EXEC_TYPE_SET: ReadonlySet<unknown> = new Set(EXEC_TYPES);
const ORDER_STATUS_SET: ReadonlySet<unknown> = new Set(VENUE_ORDER_STATUSES);
const TIME_IN_FORCE_SET: ReadonlySet<unknown> = new Set(TIME_IN_FORCE);

const isInt = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
const isText = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max;

/** The report, exactly as `executionReport.parse` would return it, or null where the schema would refuse it. */
export function checkExecutionReport(raw: unknown): ExecutionReport | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  if (r.type !== 'execution_report') return null;
  if (!isInt(r.seq, 1, Number.MAX_SAFE_INTEGER) || typeof r.poss_dup !== 'boolean') return null;
  if (!isText(r.venue, 1, 16) || !isText(r.exec_id, 1, 64)) return null;
  if (typeof r.order_id !== 'string' || !UUID.test(r.order_id)) return null;
  if (!EXEC_TYPE_SET.has(r.exec_type) || !ORDER_STATUS_SET.has(r.order_status)) return null;
  if (r.side !== 'buy' && r.side !== 'sell') return null;
  if (!isInt(r.last_qty, 0, MAX_QUANTITY) || !isInt(r.cum_qty, 0, MAX_QUANTITY) || !isInt(r.leaves_qty, 0, MAX_QUANTITY)) return null;
  if (r.last_px !== null && !(typeof r.last_px === 'string' && isPrice(r.last_px))) return null;
  if (r.avg_px !== null && !(typeof r.avg_px === 'string' && AVERAGE_PRICE.test(r.avg_px))) return null;
  if (typeof r.transact_time !== 'string' || !DATETIME.test(r.transact_time)) return null;
  if (r.ref_exec_id !== null && !isText(r.ref_exec_id, 1, 64)) return null;
  if (r.text !== null && !isText(r.text, 0, 500)) return null;
  // The optional fields of a `replaced` report: absent (or undefined) is fine, as the schema's .optional().
  if (r.order_qty !== undefined && !isInt(r.order_qty, 1, MAX_QUANTITY)) return null;
  if (r.limit_price !== undefined && r.limit_price !== null && !(typeof r.limit_price === 'string' && isPrice(r.limit_price))) return null;
  if (r.stop_price !== undefined && r.stop_price !== null && !(typeof r.stop_price === 'string' && isPrice(r.stop_price))) return null;
  if (r.time_in_force !== undefined && !TIME_IN_FORCE_SET.has(r.time_in_force)) return null;
  if (r.expires_at !== undefined && r.expires_at !== null && !(typeof r.expires_at === 'string' && DATETIME.test(r.expires_at)))
    return null;
  const report: ExecutionReport = {
    type: 'execution_report',
    seq: r.seq,
    poss_dup: r.poss_dup,
    venue: r.venue,
    exec_id: r.exec_id,
    order_id: r.order_id,
    exec_type: r.exec_type as ExecutionReport['exec_type'],
    order_status: r.order_status as ExecutionReport['order_status'],
    side: r.side,
    last_qty: r.last_qty,
    last_px: r.last_px as string | null,
    cum_qty: r.cum_qty,
    leaves_qty: r.leaves_qty,
    avg_px: r.avg_px as string | null,
    transact_time: r.transact_time,
    ref_exec_id: r.ref_exec_id as string | null,
    text: r.text as string | null,
  };
  // In the schema's key order, and only where the input has the key (as zod writes an optional one).
  if ('order_qty' in r) report.order_qty = r.order_qty as number | undefined;
  if ('limit_price' in r) report.limit_price = r.limit_price as string | null | undefined;
  if ('stop_price' in r) report.stop_price = r.stop_price as string | null | undefined;
  if ('time_in_force' in r) report.time_in_force = r.time_in_force as ExecutionReport['time_in_force'];
  if ('expires_at' in r) report.expires_at = r.expires_at as string | null | undefined;
  return report;
}

/** As `executionReport.safeParse`, the fast check first. */
export function parseExecutionReport(raw: unknown): ReturnType<typeof executionReport.safeParse> {
  const report = checkExecutionReport(raw);
  return report ? { success: true, data: report } : executionReport.safeParse(raw);
}
