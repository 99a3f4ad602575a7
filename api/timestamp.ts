export interface Timestamp {
  /** The text as given, handed to PostgreSQL (which parses exactly this form, to microseconds). */
  text: string;
  /** Nanoseconds since the epoch, to compare and to key cursors. */
  instant: bigint;
}

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * The timestamps the OpenAPI document promises parseTimestamp takes, as a pattern beside the
 * `date-time` format (RFC 3339, seconds required): no year 0000, at most 9 decimals, an offset
 * of at most ±15:59 (PostgreSQL refuses more; RFC 3339 allows up to ±23:59). The server also
 * takes a time without seconds; the document leaves that out.
 */
export const TIMESTAMP_PATTERN = '^(?!0000)\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?(?:Z|[+-](?:0\\d|1[0-5]):[0-5]\\d)$';

/** An ISO 8601 / RFC 3339 date and time with `Z` or an offset; undefined for anything else. */
export function parseTimestamp(text: string): Timestamp | undefined {
  const match = ISO_TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone, sign, offsetHours = '0', offsetMinutes = '0'] = match;
  const parts = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const [y, mo, d, h, mi, s] = parts;
  if (y < 1 || Number(offsetHours) > 15 || Number(offsetMinutes) > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  // The fields must be a real date and time: no February 30th, no 24:00, no 60th second.
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  const offsetMs = zone === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  const instant = BigInt(date.getTime() - offsetMs) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
  return { text, instant };
}
