import { createHmac, timingSafeEqual } from 'node:crypto';
import { cursorKey } from './list-cursor.js';

/**
 * GET /orders/{id}/executions' cursor: base64url of `[1, position, mac]`, the position being the
 * last execution's row id (a decimal string) and the mac an HMAC-SHA256 over the order id and the
 * position with the key of GET /orders' cursors (api/list-cursor.ts). Opaque to clients; a cursor
 * that does not decode, was altered or belongs to another order is refused (422).
 */
export interface ExecutionCursorCodec {
  encode(orderId: string, position: bigint): string;
  /** The position, or undefined for a cursor this service did not write for this order. */
  decode(orderId: string, cursor: string): bigint | undefined;
}

const VERSION = 1;
const MAC_LENGTH = 22;
const FORMAT = /^[A-Za-z0-9_-]{1,256}$/;

export function createExecutionCursorCodec(secret: string | undefined): ExecutionCursorCodec {
  const key = cursorKey(secret);
  const mac = (orderId: string, position: string) =>
    createHmac('sha256', key).update(`executions-cursor/${VERSION}\n${orderId}\n${position}`).digest('base64url').slice(0, MAC_LENGTH);
  return {
    encode(orderId, position) {
      const text = position.toString();
      return Buffer.from(JSON.stringify([VERSION, text, mac(orderId, text)])).toString('base64url');
    },
    decode(orderId, cursor) {
      if (!FORMAT.test(cursor)) return undefined;
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        return undefined;
      }
      if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== VERSION) return undefined;
      const [, position, given] = decoded as unknown[];
      if (typeof position !== 'string' || !/^[1-9]\d{0,18}$/.test(position) || typeof given !== 'string') return undefined;
      const expected = Buffer.from(mac(orderId, position));
      const actual = Buffer.from(given);
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined;
      return BigInt(position);
    },
  };
}
