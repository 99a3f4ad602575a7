import { z } from 'zod';
import { type ExecutionReport, encodeLine, executionReport, venueOrder } from '../protocol.js';

// The lines of the venue's report log (docs/executions.md). A report's line is its wire line,
// byte for byte: the venue serialises a report once (protocol.ts's encodeLine) and writes that
// text to the log and to every session. A `new` report's line follows an order line, which
// carries what the venue needs to work the order again after a restart. Logs written before
// this format hold one legacy line per report, `{"report":{…},"order"?:{…}}`; they are read as
// they are and new lines are appended after them.

/** What the venue must know of an order to work it again after a restart (logged with its `new` report). */
export const orderRecord = z.object({
  order: venueOrder,
  accepted_at: z.iso.datetime(),
  expires_at: z.iso.datetime().nullable(),
});
export type OrderRecord = z.infer<typeof orderRecord>;

const orderLineSchema = orderRecord.extend({ type: z.literal('order'), order_id: z.uuid() });
const legacyLineSchema = z.object({ report: executionReport, order: orderRecord.optional() });

const REPORT_PREFIX = '{"type":"execution_report","seq":';
const LEGACY_PREFIX = '{"report":{"type":"execution_report","seq":';
/** The poss_dup field as encodeLine writes it: the third key of every report line. */
const NOT_POSS_DUP = ',"poss_dup":false,';
const POSS_DUP = ',"poss_dup":true,';

/** A report as its wire line (poss_dup false): the text the log and the sessions both get. */
export function reportLine(report: ExecutionReport): string {
  return encodeLine(report);
}

/** The order line logged just before the order's `new` report. */
export function orderLine(record: OrderRecord): string {
  return `${JSON.stringify({ type: 'order', order_id: record.order.id, ...record })}\n`;
}

/**
 * A logged report line as a resend or replay sends it: the same bytes with poss_dup true. The
 * first `,"poss_dup":false,` of a line the venue wrote is that field (type and seq come before it).
 */
export function asPossDup(line: string): string {
  return line.replace(NOT_POSS_DUP, POSS_DUP);
}

/** The seq of a report line (or of a legacy line), read from its first bytes; 0 for an order line. */
export function lineSeq(line: string): number {
  const start = line.startsWith(REPORT_PREFIX) ? REPORT_PREFIX.length : line.startsWith(LEGACY_PREFIX) ? LEGACY_PREFIX.length : -1;
  if (start === -1) return 0;
  let seq = 0;
  for (let i = start; i < line.length; i++) {
    const digit = line.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  return seq;
}

/** A legacy line's report as a line of today's format (the bytes it was sent as, poss_dup false). */
export function fromLegacy(line: string): string {
  return line.startsWith(LEGACY_PREFIX) ? reportLine((JSON.parse(line) as { report: ExecutionReport }).report) : line;
}

export type ParsedLine =
  | { kind: 'report'; report: ExecutionReport; line: string }
  | { kind: 'order'; record: OrderRecord }
  | { kind: 'legacy'; report: ExecutionReport; record: OrderRecord | undefined; line: string };

/**
 * One line of the log checked by the protocol's schemas (at start only: the log is read back
 * once); undefined for a line that is not one (torn by a crash, or not this venue's). `line`
 * of a report is its wire line, with its newline.
 */
export function parseLogLine(text: string): ParsedLine | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (text.startsWith(REPORT_PREFIX)) {
    const parsed = executionReport.safeParse(raw);
    return parsed.success ? { kind: 'report', report: parsed.data, line: `${text}\n` } : undefined;
  }
  if (text.startsWith(LEGACY_PREFIX)) {
    const parsed = legacyLineSchema.safeParse(raw);
    if (!parsed.success) return undefined;
    return { kind: 'legacy', report: parsed.data.report, record: parsed.data.order, line: reportLine(parsed.data.report) };
  }
  const parsed = orderLineSchema.safeParse(raw);
  if (!parsed.success || parsed.data.order_id !== parsed.data.order.id) return undefined;
  const { order, accepted_at, expires_at } = parsed.data;
  return { kind: 'order', record: { order, accepted_at, expires_at } };
}

/** The seq an exec id of this venue was made with (`<seq base 36>-<time base 36>`); 0 when it is not one. */
export function execIdSeq(execId: string): number {
  const dash = execId.indexOf('-');
  if (dash < 1 || dash > 11) return 0;
  const seq = Number.parseInt(execId.slice(0, dash), 36);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}
