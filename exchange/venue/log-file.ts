import type { FileHandle } from 'node:fs/promises';
import { fromLegacy, lineSeq } from './log-lines.js';

/** Bytes read from the file at a time (a log line is a few hundred bytes; none is longer than 64 KiB). */
const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Reads the file from `start` up to `end` in chunks cut at a line end, and gives each chunk
 * (whole lines, each with its newline; the buffer is reused, so copy what you keep) and its
 * offset to `visit`, until `visit` returns false. Returns the offset after the last whole line
 * read: bytes after it up to `end` are a line without its newline (or one longer than a chunk).
 */
export async function readLines(
  handle: FileHandle,
  start: number,
  end: number,
  visit: (chunk: Buffer, offset: number) => boolean,
): Promise<number> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(end - start, 1)));
  let offset = start;
  while (offset < end) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - offset), offset);
    if (bytesRead === 0) break;
    const last = buffer.lastIndexOf(NEWLINE, bytesRead - 1);
    if (last === -1) break;
    const chunk = buffer.subarray(0, last + 1);
    const more = visit(chunk, offset);
    offset += chunk.length;
    if (!more) break;
  }
  return offset;
}

/** Calls `line` with each line of a chunk (with its newline) and its start and end offsets in the file, until it returns false. */
export function eachLine(chunk: Buffer, offset: number, line: (text: string, at: number, end: number) => boolean): boolean {
  let start = 0;
  while (start < chunk.length) {
    const newline = chunk.indexOf(NEWLINE, start);
    if (!line(chunk.toString('utf8', start, newline + 1), offset + start, offset + newline + 1)) return false;
    start = newline + 1;
  }
  return true;
}

/**
 * The report lines from..last, in order, read from `start` (at or before from's line) up to
 * `end`: order lines and the lines before from are passed over, legacy lines are given in
 * today's format. The lines are as they were written, so as they were first sent.
 */
export async function readReportLines(handle: FileHandle, start: number, end: number, from: number, last: number): Promise<string[]> {
  const lines: string[] = [];
  await readLines(handle, start, end, (chunk, offset) =>
    eachLine(chunk, offset, (text) => {
      const seq = lineSeq(text);
      if (seq === 0 || seq < from) return true;
      if (seq > last) return false;
      lines.push(fromLegacy(text));
      return seq < last;
    }),
  );
  return lines;
}

/**
 * Every line between `start` and `end` that holds `needle` (found in the raw bytes, so the
 * other lines are never decoded): one order's lines, found by its `"order_id":"…"`.
 */
export async function findLines(handle: FileHandle, start: number, end: number, needle: string): Promise<string[]> {
  const bytes = Buffer.from(needle);
  const found: string[] = [];
  await readLines(handle, start, end, (chunk) => {
    let at = chunk.indexOf(bytes);
    while (at !== -1) {
      const lineStart = chunk.lastIndexOf(NEWLINE, at) + 1;
      const lineEnd = chunk.indexOf(NEWLINE, at);
      found.push(chunk.toString('utf8', lineStart, lineEnd + 1));
      at = chunk.indexOf(bytes, lineEnd + 1);
    }
    return true;
  });
  return found;
}
