import { REJECT_REASONS } from '../domain/fills.js';
import type { LineEvent } from '../exchange/lines.js';
import { heartbeat, logonAck, MAX_LINE_BYTES } from '../exchange/protocol.js';
import { parseExecutionReport } from '../exchange/report-check.js';
import type { IngestItem } from './batch-plan.js';
import { executionLine } from './batch-rows.js';

/** What one line of the execution session is to the ingestion process. */
export type SessionLine =
  /** A report, or a bad report whose seq could be read: either takes its place in the sequence. */
  | { kind: 'sequenced'; seq: number; item: IngestItem }
  /** A bad line without a seq to read: a reject at once (the gap it leaves is asked for again). */
  | { kind: 'bad'; item: IngestItem }
  | { kind: 'heartbeat'; nextSeq: number }
  | { kind: 'logon_ack'; nextSeq: number };

/** A line kept as a `malformed` reject. */
export function badLine(text: string, detail: string, readAt: number, seq: number | null = null): IngestItem {
  return { seq, report: null, reject: { reason: REJECT_REASONS.malformed, detail }, raw: text, readAt, repair: false };
}

/** Parses one line off the session (pure); `readAt` is when it was read (performance.now()). */
export function parseSessionLine(event: LineEvent, readAt: number): SessionLine {
  if (event.kind === 'too_long') return { kind: 'bad', item: badLine('', `line longer than ${MAX_LINE_BYTES} bytes`, readAt) };
  const text = event.text;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { kind: 'bad', item: badLine(text, 'not JSON', readAt) };
  }
  const type = (raw as { type?: unknown } | null)?.type;
  if (type === 'execution_report') {
    // The schema's check, fast (exchange/report-check.ts): this runs for every report.
    const parsed = parseExecutionReport(raw);
    if (parsed.success) {
      return {
        kind: 'sequenced',
        seq: parsed.data.seq,
        item: {
          seq: parsed.data.seq,
          report: parsed.data,
          reject: null,
          raw: text,
          readAt,
          repair: false,
          // Made now, while the batch before commits, rather than in the batch's own time.
          executionLine: executionLine(parsed.data),
        },
      };
    }
    const issue = parsed.error.issues[0];
    const detail = issue ? `${issue.path.join('.') || 'message'}: ${issue.message}` : 'invalid';
    const seq = (raw as { seq?: unknown }).seq;
    // A bad report with a readable seq takes its place in the sequence (kept as a reject), so
    // the stream goes on past it; without one it is kept aside and the gap logic fetches the seq.
    if (typeof seq === 'number' && Number.isInteger(seq) && seq >= 1)
      return { kind: 'sequenced', seq, item: badLine(text, detail, readAt, seq) };
    return { kind: 'bad', item: badLine(text, detail, readAt) };
  }
  if (type === 'heartbeat') {
    const parsed = heartbeat.safeParse(raw);
    if (parsed.success) return { kind: 'heartbeat', nextSeq: parsed.data.next_seq };
  } else if (type === 'logon_ack') {
    const parsed = logonAck.safeParse(raw);
    if (parsed.success) return { kind: 'logon_ack', nextSeq: parsed.data.next_seq };
  }
  return { kind: 'bad', item: badLine(text, `unexpected message on an execution session: ${String(type)}`, readAt) };
}
