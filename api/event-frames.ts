import type { StreamPosition, StreamRow } from '../prisma/order-stream.js';
import { decimalToken, orderJson } from './order-response.js';
import { positionBody } from './position-response.js';

// GET /events' events as clients get them: the SSE id of a stream position, and the frame of a
// stream row, rendered once whatever the number of clients it goes to.

/** The kinds of event of GET /events (its `kind`, and the SSE `event` field), and what each means. */
export const STREAM_EVENT_KINDS = {
  status: 'the order took a new status',
  fill: 'the venue filled part of it (or busted a fill)',
  triggered: "a stop order's price was reached: the venue works it from now on as a market or limit order",
  amended:
    'the venue replaced it as `PATCH /orders/{id}` asked (`order` shows its new `quantity`, `limit_price`, `stop_price`, `time_in_force`, `expires_at`)',
} as const;
export type StreamEventKind = keyof typeof STREAM_EVENT_KINDS;
/** The kinds whose event carries the venue's execution (`execution`). */
const KINDS_WITH_EXECUTION: readonly string[] = ['fill', 'triggered'] satisfies StreamEventKind[];

/**
 * An event's SSE id: the stream position (tx, id) as the one decimal integer tx·10^13 + id.
 * It increases with the position while a row id stays below 10^13 (ten trillion events). It
 * outgrows a JavaScript number: clients keep it as the string it is (EventSource does).
 */
const ID_SCALE = 10n ** 13n;
const EVENT_ID_PATTERN = /^\d{1,32}$/;

export function eventIdOf(position: StreamPosition): string {
  return (position.tx * ID_SCALE + position.id).toString();
}

/** The position an SSE id names, or undefined if it is not one. */
export function parseEventId(text: string): StreamPosition | undefined {
  if (!EVENT_ID_PATTERN.test(text)) return undefined;
  const value = BigInt(text);
  return { tx: value / ID_SCALE, id: value % ID_SCALE };
}

/** One event, rendered once for every client, with what routes it: its account and order. */
export interface StreamEvent {
  position: StreamPosition;
  orderId: string;
  accountId: string;
  frame: string;
}

/**
 * A fill's (or a stop's `triggered`) execution report (the venue's names) as a client gets it:
 * Execution's names, exact price (field by field, as orderJson).
 */
function executionJson(kind: string, report: unknown): string {
  if (!KINDS_WITH_EXECUTION.includes(kind) || typeof report !== 'object' || report === null) return 'null';
  // A JSON value as its text: what the ingestion stored comes back as JSON.parse made it.
  const field = (name: string) => JSON.stringify((report as Record<string, unknown>)[name] ?? null);
  const price = (report as Record<string, unknown>).last_px;
  return (
    `{"exec_id":${field('exec_id')},"exec_type":${field('exec_type')},"quantity":${field('last_qty')},` +
    `"price":${typeof price === 'string' ? decimalToken(price) : 'null'},"cum_quantity":${field('cum_qty')},` +
    `"leaves_quantity":${field('leaves_qty')},"venue_time":${field('transact_time')}}`
  );
}

/**
 * The event's data (docs/api.md, "GET /events"): JSON, the order as GET /orders/:id shows it
 * without `events`; a fill's also its account's position after it, as GET /positions/{instrument}
 * shows it (null on fill rows stored before positions existed).
 */
export function eventData(row: StreamRow): string {
  const position =
    row.kind === 'fill'
      ? `,"position":${row.accountPosition ? JSON.stringify(positionBody(row.order.instrument, row.accountPosition)) : 'null'}`
      : '';
  return (
    `{"order_id":${JSON.stringify(row.orderId)},"kind":${JSON.stringify(row.kind)},"at":${JSON.stringify(row.at.toISOString())},` +
    `"order":${orderJson(row.order)},"execution":${executionJson(row.kind, row.execution)}${position}}`
  );
}

/**
 * The event's SSE frame: `id`, `event` (its kind) and `data` lines, then a blank line, as
 * better-sse's EventBuffer writes them (test/unit/event-stream.test.ts compares the two). Written
 * here: no field can hold a line break (digits, a STREAM_EVENT_KINDS name, JSON, which escapes them).
 */
export function toStreamEvent(row: StreamRow): StreamEvent {
  const frame = `id:${eventIdOf(row.position)}\nevent:${row.kind}\ndata:${eventData(row)}\n\n`;
  return { position: row.position, orderId: row.orderId, accountId: row.accountId, frame };
}
