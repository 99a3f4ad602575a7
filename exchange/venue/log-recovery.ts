import type { FileHandle } from 'node:fs/promises';
import type { ExecutionReport } from '../protocol.js';
import type { LineWindow } from './line-window.js';
import { eachLine, readLines } from './log-file.js';
import { type OrderRecord, parseLogLine } from './log-lines.js';

/** A logged report as the venue reads it back at start, with its order for a `new` report. */
export interface LogEntry {
  report: ExecutionReport;
  record?: OrderRecord | undefined;
}

/** Every INDEX_STRIDE-th report's offset is kept (the first of each stride): a read starts there. */
export const INDEX_STRIDE = 64;

export interface Recovered {
  /** The last report's seq (0 for an empty log). */
  lastSeq: number;
  /** The offset after the last whole entry: the file is cut there. */
  size: number;
  /** index[k] = offset of the entry (its order line, if any) of seq k × INDEX_STRIDE + 1. */
  index: number[];
}

/**
 * Reads the log file back at start, checking each line by the protocol's schemas: every report
 * in order to `replay` (with its order for a `new` one), its line into `window`, every stride's
 * offset into the index. It stops at the first line that is not the next entry (a line torn by
 * a crash, never fsync'd, so never sent, or an order line whose report is missing): the caller
 * cuts the file there.
 */
export async function recoverLog(handle: FileHandle, window: LineWindow, replay: (entry: LogEntry) => void): Promise<Recovered> {
  const { size: fileSize } = await handle.stat();
  const index: number[] = [];
  let lastSeq = 0;
  let size = 0;
  let order: { record: OrderRecord; at: number } | undefined;

  const next = (text: string, at: number, end: number): boolean => {
    const parsed = parseLogLine(text.slice(0, -1));
    if (!parsed) return false;
    if (parsed.kind === 'order') {
      if (order) return false;
      order = { record: parsed.record, at };
      return true;
    }
    const { report } = parsed;
    if (report.seq !== lastSeq + 1) return false;
    let record = parsed.kind === 'legacy' ? parsed.record : undefined;
    if (order) {
      if (parsed.kind !== 'report' || report.exec_type !== 'new' || report.order_id !== order.record.order.id) return false;
      record = order.record;
    }
    if ((report.seq - 1) % INDEX_STRIDE === 0) index.push(order?.at ?? at);
    order = undefined;
    lastSeq = report.seq;
    size = end;
    window.put(report.seq, parsed.line);
    replay(record ? { report, record } : { report });
    return true;
  };
  await readLines(handle, 0, fileSize, (chunk, offset) => eachLine(chunk, offset, next));
  if (fileSize !== size) await handle.truncate(size);
  return { lastSeq, size, index };
}
