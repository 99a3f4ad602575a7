import { z } from 'zod';
import { INSTRUMENT_LENGTH, LIST_LIMIT } from '../domain/limits.js';
import { ORDER_SIDES, ORDER_STATUSES, ORDER_TYPES, type OrderSide, type OrderStatus, type OrderType } from '../domain/order.js';
import type { OrderListFilters, OrderListPosition } from '../prisma/orders-query.js';
import { controlCharacterDetails, mergeDetails } from './control-characters.js';
import { expectedOneOf, RequestValidationError, type ValidationDetail } from './errors.js';
import { type CursorCodec, createCursorCodec, decodeCursor } from './list-cursor.js';
import { parseTimestamp } from './timestamp.js';

/**
 * GET /orders' query: limit, status (repeated and/or comma-separated), instrument, side, type,
 * created_from (inclusive), created_to (exclusive), cursor. Any other parameter is refused; every
 * bad one is named in one 422.
 */

export interface ListOrdersParams {
  limit: number;
  filters: OrderListFilters;
  /** The filters in canonical form; cursors are bound to it. */
  filterKey: string;
  after?: OrderListPosition;
}

const SINGLE_VALUE = 'Parameter should be given once';
const STATUS_MESSAGE = `Input should be ${quotedList(ORDER_STATUSES)}`;
const DATETIME_MESSAGE =
  'Input should be an ISO 8601 timestamp with a time zone, e.g. 2026-11-23T20:35:52Z or 2026-11-23T21:35:52.123+01:00';
const INVALID_CURSOR = 'Invalid cursor: pass the `next` value of a previous page unchanged';
const FOREIGN_CURSOR = 'Invalid cursor: it was altered, or it belongs to a query with other filters';

function fail(ctx: z.RefinementCtx, message: string, type: string): never {
  ctx.addIssue({ code: 'custom', message, params: { type } });
  return z.NEVER;
}

/** A parameter that may appear once: its text, or an issue if it was repeated. */
function once<T>(parse: (text: string, ctx: z.RefinementCtx) => T) {
  return z
    .custom<unknown>()
    .transform((value, ctx): T => (typeof value === 'string' ? parse(value, ctx) : fail(ctx, SINGLE_VALUE, 'value_error')));
}

function oneOf<const T extends readonly string[]>(values: T, message: string) {
  return once((text, ctx) => ((values as readonly string[]).includes(text) ? (text as T[number]) : fail(ctx, message, 'enum')));
}

const limit = once((text, ctx) => {
  if (!/^[+-]?\d+$/.test(text)) return fail(ctx, 'Input should be a valid integer, unable to parse string as an integer', 'int_parsing');
  const value = Number(text);
  if (value < LIST_LIMIT.min) return fail(ctx, `Input should be greater than or equal to ${LIST_LIMIT.min}`, 'greater_than_equal');
  if (value > LIST_LIMIT.max) return fail(ctx, `Input should be less than or equal to ${LIST_LIMIT.max}`, 'less_than_equal');
  return value;
});

/** `status=a&status=b`, `status=a,b` or both: the distinct statuses, in a fixed order. */
const status = z.custom<unknown>().transform((value, ctx): OrderStatus[] => {
  const given = [value].flat().flatMap((text) => String(text).split(','));
  if (!given.every((text) => (ORDER_STATUSES as readonly string[]).includes(text))) return fail(ctx, STATUS_MESSAGE, 'enum');
  return ORDER_STATUSES.filter((known) => given.includes(known));
});

/** `instrument`: exactly as an order's (DELETE /orders takes it too, api/cancel-all-query.ts). */
export const instrumentParameter = once((text, ctx) =>
  [...text].length === INSTRUMENT_LENGTH ? text : fail(ctx, `String should have exactly ${INSTRUMENT_LENGTH} characters`, 'string_length'),
);

const timestamp = once((text, ctx) => parseTimestamp(text) ?? fail(ctx, DATETIME_MESSAGE, 'datetime_parsing'));

const listOrdersQuerySchema = z.strictObject(
  {
    limit: limit.optional(),
    status: status.optional(),
    instrument: instrumentParameter.optional(),
    side: oneOf(ORDER_SIDES, "Input should be 'buy' or 'sell'").optional(),
    type: oneOf(ORDER_TYPES, expectedOneOf(ORDER_TYPES)).optional(),
    created_from: timestamp.optional(),
    created_to: timestamp.optional(),
    client_order_id: once((text, ctx) =>
      /^[\x21-\x7e]{1,64}$/.test(text) ? text : fail(ctx, 'String should be 1 to 64 visible ASCII characters', 'string_pattern_mismatch'),
    ).optional(),
    cursor: once((text, ctx) => decodeCursor(text) ?? fail(ctx, INVALID_CURSOR, 'value_error')).optional(),
  },
  { error: 'Extra inputs are not permitted' },
);

/** Signs and checks cursors when the app names no secret: with the public key. */
export const DEFAULT_CURSORS = createCursorCodec(undefined);

/**
 * Validates GET /orders' query (as Koa parsed it); throws RequestValidationError naming every bad
 * parameter. `cursors` signs and checks cursors (the default: with the public key).
 */
export function parseListOrdersQuery(
  query: Record<string, string | string[] | undefined>,
  cursors: CursorCodec = DEFAULT_CURSORS,
): ListOrdersParams {
  const result = listOrdersQuerySchema.safeParse(query);
  const details = queryDetails(listOrdersQuerySchema, query, result);
  // Checked whatever else fails (zod skips refinements after an issue), so one answer names every problem.
  const range = rangeRule(query.created_from, query.created_to);
  if (range) details.push(range);
  if (!result.success || details.length > 0) throw new RequestValidationError(dedupe(details));
  const { data } = result;
  const filters: OrderListFilters = {
    ...(data.status && { statuses: data.status }),
    ...(data.instrument !== undefined && { instrument: data.instrument }),
    ...(data.side && { side: data.side as OrderSide }),
    ...(data.type && { type: data.type as OrderType }),
    ...(data.created_from && { createdFrom: data.created_from.text }),
    ...(data.created_to && { createdTo: data.created_to.text }),
    ...(data.client_order_id !== undefined && { clientOrderId: data.client_order_id }),
  };
  const key = filterKey(filters, data.created_from?.instant, data.created_to?.instant);
  const params: ListOrdersParams = { limit: data.limit ?? LIST_LIMIT.default, filters, filterKey: key };
  if (data.cursor !== undefined) {
    // Checked here, once the filters it must belong to are known.
    if (!cursors.verify(data.cursor, key)) {
      throw new RequestValidationError([{ loc: ['query', 'cursor'], msg: FOREIGN_CURSOR, type: 'value_error' }]);
    }
    params.after = { createdAt: data.cursor.createdAt, id: data.cursor.id };
  }
  return params;
}

function rangeRule(from: unknown, to: unknown): ValidationDetail | undefined {
  const start = typeof from === 'string' ? parseTimestamp(from) : undefined;
  const end = typeof to === 'string' ? parseTimestamp(to) : undefined;
  if (!start || !end || start.instant <= end.instant) return undefined;
  return { loc: ['query', 'created_from'], msg: '`created_from` should not be after `created_to`', type: 'value_error' };
}

// ---- filters ---------------------------------------------------------------------------------

/** The filters in a canonical form: equal filters written differently give the same key. */
function filterKey(filters: OrderListFilters, from: bigint | undefined, to: bigint | undefined): string {
  return JSON.stringify([
    filters.statuses ?? null,
    filters.instrument ?? null,
    filters.side ?? null,
    filters.type ?? null,
    from?.toString() ?? null,
    to?.toString() ?? null,
    // Only when given: cursors issued before the filter existed stay valid.
    ...(filters.clientOrderId !== undefined ? [filters.clientOrderId] : []),
  ]);
}

// ---- 422 details -----------------------------------------------------------------------------

/**
 * Every problem of a query checked by `schema` (a strictObject of its parameters), one entry per
 * parameter: a control character is the one problem named for its parameter (unknown ones are
 * refused anyway), then unknown parameters and bad values as zod found them.
 */
export function queryDetails(
  schema: z.ZodObject,
  query: Record<string, string | string[] | undefined>,
  result: { success: boolean; error?: z.ZodError },
): ValidationDetail[] {
  const controls = controlCharacterDetails(query, Object.keys(schema.shape), 'query');
  return mergeDetails(controls, result.error ? result.error.issues.flatMap(toDetails) : []);
}

/** The details without repeats, for one 422. */

function toDetails(issue: z.core.$ZodIssue): ValidationDetail[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ loc: ['query', key], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }));
  }
  const name = issue.path[0];
  const loc = name === undefined ? ['query'] : ['query', String(name)];
  const type = (issue as { params?: { type?: string } }).params?.type ?? issue.code;
  return [{ loc, msg: issue.message, type }];
}

export function dedupe(details: ValidationDetail[]): ValidationDetail[] {
  const seen = new Set<string>();
  return details.filter((detail) => {
    const key = JSON.stringify(detail);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function quotedList(values: readonly string[]): string {
  const quoted = values.map((value) => `'${value}'`);
  return `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}
