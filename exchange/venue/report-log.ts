import { type FileHandle, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { LineWindow } from './line-window.js';
import { findLines, readReportLines } from './log-file.js';
import { INDEX_STRIDE, type LogEntry, recoverLog } from './log-recovery.js';

export type { LogEntry } from './log-recovery.js';

const FILE_NAME = 'reports.log';
/** Report lines kept in memory for live sends and recent resends; older ones are read back from the file. */
export const WINDOW_LINES = 65_536;
/** A read covers at most this many reports. */
const READ_CHUNK = 2_000;

export interface ReportLogMemory {
  /** Report lines held in memory (at most window_capacity). */
  window_lines: number;
  window_capacity: number;
  /** Offsets held: one per INDEX_STRIDE reports. */
  index_entries: number;
}

export interface ReportLog {
  /** The sequence number the next report gets. */
  readonly nextSeq: number;
  /** The highest sequence number on disk (fsync'd); 0 when none. */
  readonly durableSeq: number;
  /** Takes the next sequence number; the caller builds the report with it and appends it at once. */
  takeSeq(): number;
  /**
   * Queues the report's line (its wire line, newline included) for the next group commit, after
   * its order's line for a `new` report. `seq` must be the one taken last.
   */
  append(seq: number, line: string, orderLine?: string): void;
  /** Called after every commit with the new durableSeq. */
  onDurable(listener: (durableSeq: number) => void): void;
  /** The durable report lines from..to (inclusive), in order, as first sent (poss_dup false); at most READ_CHUNK of them. */
  read(from: number, to: number): Promise<string[]>;
  /** The line of any seq taken (durable or not); undefined for one not taken. */
  lineAt(seq: number): Promise<string | undefined>;
  /** The durable lines between the reports from and to (inclusive) holding `needle` (one order's: its order line and reports). */
  find(from: number, to: number, needle: string): Promise<string[]>;
  /** Resolves once the report `seq` is durable. */
  waitDurable(seq: number): Promise<void>;
  /** Waits for every appended entry to be durable. */
  flush(): Promise<void>;
  memory(): ReportLogMemory;
  close(): Promise<void>;
}

/**
 * The venue's outgoing report log: an append-only file of JSON lines (log-lines.ts), written
 * and fsync'd in groups (every `flushMs`) before any report of the group is sent, so a restart
 * neither forgets a report nor gives its sequence number to another. What it holds in memory is
 * bounded: the last `windowLines` report lines and one offset per INDEX_STRIDE reports; older
 * lines are read back from the file. `open` reads the file back (log-recovery.ts), passing every
 * entry to `replay` in order, and cuts a torn tail off.
 */
export async function openReportLog(
  dir: string,
  options: { flushMs: number; replay: (entry: LogEntry) => void; windowLines?: number },
): Promise<ReportLog> {
  await mkdir(dir, { recursive: true });
  const handle: FileHandle = await open(path.join(dir, FILE_NAME), 'a+');
  const window = new LineWindow(options.windowLines ?? WINDOW_LINES);
  const recovered = await recoverLog(handle, window, options.replay);
  const { index } = recovered;
  /** The durable file's size. */
  let size = recovered.size;
  let nextSeq = recovered.lastSeq + 1;
  let durableSeq = recovered.lastSeq;
  let pending: { seq: number; text: string }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  const listeners: ((seq: number) => void)[] = [];
  let waiters: { seq: number; resolve: () => void }[] = [];

  const commit = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      let text = '';
      for (const entry of batch) text += entry.text;
      await handle.write(text, null, 'utf8');
      await handle.datasync();
      for (const entry of batch) {
        if ((entry.seq - 1) % INDEX_STRIDE === 0) index.push(size);
        size += Buffer.byteLength(entry.text);
      }
      durableSeq = batch[batch.length - 1]!.seq;
      for (const listener of listeners) listener(durableSeq);
      const due = waiters.filter((waiter) => waiter.seq <= durableSeq);
      if (due.length > 0) waiters = waiters.filter((waiter) => waiter.seq > durableSeq);
      for (const waiter of due) waiter.resolve();
    }
    writing = undefined;
  };
  const schedule = () => {
    if (timer || writing) return;
    timer = setTimeout(() => {
      timer = undefined;
      writing = commit().catch((error: unknown) => {
        // A log that cannot be written must stop the venue: sending unlogged reports would renumber them on restart.
        process.stderr.write(`venue: report log write failed: ${String(error)}\n`);
        process.exit(1);
      });
    }, options.flushMs);
  };
  const waitDurable = (seq: number): Promise<void> =>
    seq <= durableSeq ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ seq, resolve }));
  /** Where the file holds the entries of from..to (to durable): from the stride of `from` to the one after `to`'s. */
  const span = (from: number, to: number) => ({
    start: index[Math.floor((from - 1) / INDEX_STRIDE)]!,
    end: index[Math.floor((to - 1) / INDEX_STRIDE) + 1] ?? size,
  });
  const read = async (from: number, to: number): Promise<string[]> => {
    const last = Math.min(to, durableSeq, from + READ_CHUNK - 1);
    if (from < 1 || from > last) return [];
    if (from >= window.low) return window.slice(from, last);
    const fileLast = Math.min(last, window.low - 1);
    const { start, end } = span(from, fileLast);
    return readReportLines(handle, start, end, from, fileLast);
  };

  return {
    get nextSeq() {
      return nextSeq;
    },
    get durableSeq() {
      return durableSeq;
    },
    takeSeq: () => nextSeq++,
    append(seq, line, orderLine) {
      if (seq !== nextSeq - 1) throw new Error(`report ${seq} appended out of turn (next ${nextSeq})`);
      window.put(seq, line);
      pending.push({ seq, text: orderLine === undefined ? line : orderLine + line });
      schedule();
    },
    onDurable: (listener) => void listeners.push(listener),
    read,
    async lineAt(seq) {
      if (seq < 1 || seq >= nextSeq) return undefined;
      const held = window.get(seq);
      if (held !== undefined) return held;
      await waitDurable(seq);
      return (await read(seq, seq))[0];
    },
    async find(from, to, needle) {
      const last = Math.min(to, durableSeq);
      if (from < 1 || from > last) return [];
      const { start, end } = span(from, last);
      return findLines(handle, start, end, needle);
    },
    waitDurable,
    flush: () => waitDurable(nextSeq - 1),
    memory: () => ({ window_lines: window.size, window_capacity: window.capacity, index_entries: index.length }),
    async close() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
        writing = commit();
      }
      await writing;
      await handle.close();
    },
  };
}
