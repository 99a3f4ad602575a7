import { createHmac, timingSafeEqual } from 'node:crypto';
import type { OrderListPosition } from '../prisma/orders-query.js';

/**
 * GET /orders' cursor: base64url of `[2, created_at, id, mac]`. `created_at` is the position's
 * time (ISO 8601, milliseconds, the column's precision), `id` its order id, and `mac` an
 * HMAC-SHA256 (first 22 base64url characters, 132 bits) over the filters it was issued for and
 * the position, keyed with CURSOR_SECRET, so every API process sharing the secret accepts every
 * other's cursors. It is opaque to clients. A cursor that does not decode, whose fields are not
 * exactly what this service writes, that was altered, or that is used with other filters than its
 * own is refused (422, loc ['query', 'cursor']). Each field is checked even when the mac holds:
 * without CURSOR_SECRET the key is public and anyone can sign a cursor.
 */

const VERSION = 2;
const MAC_LENGTH = 22;
const MAC_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Exactly what Date#toISOString writes for a year from 0001 to 9999 (PostgreSQL has no year 0).
const CREATED_AT = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const MAX_CURSOR_LENGTH = 1024;
export const CURSOR_PATTERN = `^[A-Za-z0-9_-]{1,${MAX_CURSOR_LENGTH}}$`;
const CURSOR_FORMAT = new RegExp(CURSOR_PATTERN);

/** The key used when CURSOR_SECRET is unset: written here, so it is no secret (docs/configuration.md: set it in production). */
const PUBLIC_KEY = 'order-service GET /orders cursor key: public default, set CURSOR_SECRET in production';

/** A cursor as decoded, before its mac is checked against the request's filters. */
export interface DecodedCursor extends OrderListPosition {
  mac: string;
}

export interface CursorCodec {
  encode(position: OrderListPosition, filterKey: string): string;
  /** Whether the cursor was signed with this codec's key for these filters. */
  verify(cursor: DecodedCursor, filterKey: string): boolean;
}

/** The cursor's fields if it is one this service writes, else undefined (its mac is not checked here). */
export function decodeCursor(cursor: string): DecodedCursor | undefined {
  if (!CURSOR_FORMAT.test(cursor)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 4 || decoded[0] !== VERSION) return undefined;
  const [, createdAt, id, mac] = decoded as unknown[];
  if (typeof createdAt !== 'string' || typeof id !== 'string' || typeof mac !== 'string') return undefined;
  if (!UUID.test(id) || !MAC_PATTERN.test(mac)) return undefined;
  const year = CREATED_AT.exec(createdAt)?.[1];
  if (year === undefined || Number(year) < 1) return undefined;
  const date = new Date(createdAt);
  // A real instant, written as this service writes it (no February 30th, no hour 24).
  if (Number.isNaN(date.getTime()) || date.toISOString() !== createdAt) return undefined;
  return { createdAt: date, id, mac };
}

/** The key cursors are signed with: CURSOR_SECRET, or the public default. */
export function cursorKey(secret: string | undefined): string {
  return secret ?? PUBLIC_KEY;
}

export function createCursorCodec(secret: string | undefined): CursorCodec {
  const key = cursorKey(secret);
  const mac = (filterKey: string, createdAt: string, id: string) =>
    createHmac('sha256', key)
      .update(`orders-list-cursor/${VERSION}\n${filterKey}\n${createdAt}\n${id}`)
      .digest('base64url')
      .slice(0, MAC_LENGTH);
  return {
    encode(position, filterKey) {
      const createdAt = position.createdAt.toISOString();
      return Buffer.from(JSON.stringify([VERSION, createdAt, position.id, mac(filterKey, createdAt, position.id)])).toString('base64url');
    },
    verify(cursor, filterKey) {
      const expected = Buffer.from(mac(filterKey, cursor.createdAt.toISOString(), cursor.id));
      const given = Buffer.from(cursor.mac);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
