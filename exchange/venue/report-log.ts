import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { type ExecutionReport, executionReport, venueOrder } from '../protocol.js';

/** What the venue must know of an order to work it again after a restart (kept with its `new` report). */
export const orderRecord = z.object({
  order: venueOrder,
  accepted_at: z.iso.datetime(),
  expires_at: z.iso.datetime().nullable(),
});
export type OrderRecord = z.infer<typeof orderRecord>;

/** One line of the log file: a report as it was sent (poss_dup false), and for a `new` report its order. */
export const logEntry = z.object({ report: executionReport, order: orderRecord.optional() });
export type LogEntry = z.infer<typeof logEntry>;

const FILE_NAME = 'reports.log';
/** Recent entries kept in memory for replays and resends; older ones are read back from the file. */
const CACHE_ENTRIES = 100_000;
/** A file read of a replay covers at most this many entries. */
const READ_CHUNK = 2_000;

export interface ReportLog {
  /** The sequence number the next report gets. */
  readonly nextSeq: number;
  /** The highest sequence number on disk (fsync'd); 0 when none. */
  readonly durableSeq: number;
  /** Takes the next sequence number; the caller builds the report with it and appends it at once. */
  takeSeq(): number;
  /** Queues the entry for the next group commit (its seq must be the one taken last). */
  append(entry: LogEntry): void;
  /** Called after every commit with the new durableSeq. */
  onDurable(listener: (durableSeq: number) => void): void;
  /** The durable reports from..to (inclusive), in order, at most READ_CHUNK of them per call. */
  read(from: number, to: number): Promise<ExecutionReport[]>;
  /** Waits for every appended entry to be durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The venue's outgoing report log: an append-only file of JSON lines, written and fsync'd in
 * groups (every `flushMs`) before any report of the group is sent, so a restart neither forgets
 * a report nor gives its sequence number to another. `open` reads the file back, passing every
 * entry to `replay` in order; a torn last line (a crash mid-write, never fsync'd, so never sent)
 * is cut off.
 */
export async function openReportLog(dir: string, options: { flushMs: number; replay: (entry: LogEntry) => void }): Promise<ReportLog> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, FILE_NAME);
  const handle: FileHandle = await open(file, 'a+');
  // offsets[seq] = byte offset of that entry's line; offsets[nextSeq] = end of the file.
  const offsets: number[] = [0, 0];
  let size = 0;
  let lastSeq = 0;
  const cache = new Map<number, ExecutionReport>();

  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const parsed = safeEntry(line);
    if (!parsed || parsed.report.seq !== lastSeq + 1) break; // torn or foreign tail: everything after is cut off
    lastSeq = parsed.report.seq;
    size += Buffer.byteLength(line) + 1;
    offsets[lastSeq + 1] = size;
    remember(cache, parsed.report);
    options.replay(parsed);
  }
  lines.close();
  stream.destroy();
  const { size: fileSize } = await handle.stat();
  if (fileSize !== size) await handle.truncate(size);

  let nextSeq = lastSeq + 1;
  let durableSeq = lastSeq;
  let pending: LogEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  const listeners: ((seq: number) => void)[] = [];
  let waiters: (() => void)[] = [];

  const commit = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      const texts = batch.map((entry) => `${JSON.stringify(entry)}\n`);
      await handle.write(texts.join(''), null, 'utf8');
      await handle.datasync();
      for (const [index, entry] of batch.entries()) {
        const seq = entry.report.seq;
        size += Buffer.byteLength(texts[index]!);
        offsets[seq + 1] = size;
        remember(cache, entry.report);
      }
      durableSeq = batch[batch.length - 1]!.report.seq;
      for (const listener of listeners) listener(durableSeq);
    }
    writing = undefined;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
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

  return {
    get nextSeq() {
      return nextSeq;
    },
    get durableSeq() {
      return durableSeq;
    },
    takeSeq: () => nextSeq++,
    append(entry) {
      pending.push(entry);
      schedule();
    },
    onDurable: (listener) => void listeners.push(listener),
    async read(from, to) {
      const last = Math.min(to, durableSeq, from + READ_CHUNK - 1);
      if (from > last) return [];
      const out: ExecutionReport[] = [];
      let missing = false;
      for (let seq = from; seq <= last; seq++) {
        const report = cache.get(seq);
        if (!report) {
          missing = true;
          break;
        }
        out.push(report);
      }
      if (!missing) return out;
      const start = offsets[from]!;
      const end = offsets[last + 1]!;
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => logEntry.parse(JSON.parse(line)).report);
    },
    async flush() {
      if (pending.length === 0 && !writing && !timer) return;
      await new Promise<void>((resolve) => waiters.push(resolve));
    },
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

function remember(cache: Map<number, ExecutionReport>, report: ExecutionReport): void {
  cache.set(report.seq, report);
  cache.delete(report.seq - CACHE_ENTRIES);
}

function safeEntry(line: string): LogEntry | undefined {
  try {
    const parsed = logEntry.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
