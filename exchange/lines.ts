import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { z } from 'zod';
import { MAX_LINE_BYTES } from './protocol.js';

export type LineEvent = { kind: 'line'; text: string } | { kind: 'too_long' };

/**
 * Splits a socket's bytes into lines of at most `maxBytes` (the protocol's bound). A longer line
 * is reported once as `too_long` and its bytes are skipped up to its newline, so a peer cannot
 * make the reader buffer without bound, and the connection goes on with the next line.
 */
export function onLines(socket: Socket, handle: (event: LineEvent) => void, maxBytes = MAX_LINE_BYTES): void {
  const decoder = new StringDecoder('utf8');
  let buffered = '';
  let bufferedBytes = 0;
  let skipping = false;
  socket.on('data', (chunk: Buffer) => {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!skipping) {
        bufferedBytes += end - start;
        if (bufferedBytes > maxBytes) {
          skipping = true;
          buffered = '';
          decoder.end();
          handle({ kind: 'too_long' });
        } else {
          buffered += decoder.write(chunk.subarray(start, end));
        }
      }
      if (newline === -1) break;
      if (!skipping) {
        const text = buffered + decoder.end();
        if (text.trim() !== '') handle({ kind: 'line', text });
      }
      buffered = '';
      bufferedBytes = 0;
      skipping = false;
      start = newline + 1;
    }
  });
}

/** One line parsed as JSON and checked by `schema`; the reason in words when it is not one. */
export function parseLine<S extends z.ZodType>(
  text: string,
  schema: S,
): { ok: true; value: z.infer<S> } | { ok: false; reason: string; raw: unknown } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON', raw: undefined };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: issue ? `${issue.path.join('.') || 'message'}: ${issue.message}` : 'invalid', raw };
  }
  return { ok: true, value: parsed.data };
}
