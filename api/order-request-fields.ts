import { Decimal } from 'decimal.js';
import { isLosslessNumber } from 'lossless-json';
import { z } from 'zod';
import { MAX_LIMIT_PRICE_TEXT, MAX_QUANTITY } from '../domain/limits.js';
import { hasLimitPrice, isStopType, ORDER_TYPES, type OrderType } from '../domain/order.js';
import type { ValidationDetail } from './errors.js';

// The fields an order and its amend share (each validator with its JSON Schema), and how a body's
// issues become FastAPI-shaped details: api/order-request.ts and api/amend-request.ts build on them.

/** The price fields of an order, each required for some types and prohibited for the others (PRICE_FIELD_TYPES). */
export const PRICE_FIELDS = ['limit_price', 'stop_price'] as const;
export type PriceField = (typeof PRICE_FIELDS)[number];

/** The types that require each price field; every other type prohibits it. */
export const PRICE_FIELD_TYPES: Record<PriceField, readonly OrderType[]> = {
  limit_price: ORDER_TYPES.filter(hasLimitPrice),
  stop_price: ORDER_TYPES.filter(isStopType),
};

export const priceProhibited = (field: PriceField, type: OrderType) => `Providing a \`${field}\` is prohibited for type \`${type}\``;
export const priceRequired = (field: PriceField, type: OrderType) => `Attribute \`${field}\` is required for type \`${type}\``;

const MAX_LIMIT_PRICE = new Decimal(MAX_LIMIT_PRICE_TEXT);

/** A price as a decimal string, as documented: at most 16 digits, 2 decimals, and not zero. */
const LIMIT_PRICE_PATTERN = '^(?=.*[1-9])(?:\\d{1,16}(?:\\.\\d{0,2})?|\\.\\d{1,2})$';

/** Source text of a JSON number (kept exact by the body parser), or undefined for anything else. */
function numberText(value: unknown): string | undefined {
  return isLosslessNumber(value) ? value.value : undefined;
}

/** Reports one FastAPI-shaped issue (its `type` and message) and ends the transform. */
function invalid(ctx: z.RefinementCtx, type: string, message: string): never {
  ctx.addIssue({ code: 'custom', message, params: { type } });
  return z.NEVER;
}

export const quantity = z
  .custom<unknown>()
  .transform((value, ctx) => {
    if (value === undefined) {
      return invalid(ctx, 'missing', 'Field required');
    }
    const text = numberText(value);
    if (text === undefined) {
      return invalid(ctx, 'int_type', 'Input should be a valid integer');
    }
    const number = new Decimal(text);
    if (!number.isInteger()) {
      return invalid(ctx, 'int_from_float', 'Input should be a valid integer');
    }
    if (number.lte(0)) {
      return invalid(ctx, 'greater_than', 'Input should be greater than 0');
    }
    if (number.gt(MAX_QUANTITY)) {
      return invalid(ctx, 'less_than_equal', `Input should be less than or equal to ${MAX_QUANTITY}`);
    }
    return number.toNumber();
  })
  .meta({
    // Its JSON Schema (the validator above is a transform, which JSON Schema cannot express).
    description: `A whole number of shares, 1 to ${MAX_QUANTITY}.`,
    type: 'integer',
    minimum: 1,
    maximum: MAX_QUANTITY,
  });

/** A price: a JSON number or a decimal string, > 0, with at most 2 decimal places; `null` counts as absent. */
const decimalPrice = (description: string) =>
  z
    .custom<unknown>()
    .transform((value, ctx) => {
      if (value === undefined || value === null) return null;
      const text = numberText(value) ?? (typeof value === 'string' ? value.trim() : undefined);
      let price: Decimal | undefined;
      try {
        // Plain decimal notation only: Decimal would also take "Infinity", "NaN", hex and exponents.
        if (text !== undefined && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) price = new Decimal(text);
      } catch {
        price = undefined;
      }
      if (price === undefined) {
        return invalid(ctx, 'decimal_parsing', 'Input should be a valid decimal');
      }
      if (price.decimalPlaces() > 2) {
        return invalid(ctx, 'decimal_max_places', 'Decimal input should have no more than 2 decimal places');
      }
      if (price.lte(0)) {
        return invalid(ctx, 'greater_than', 'Input should be greater than 0');
      }
      if (price.gt(MAX_LIMIT_PRICE)) {
        return invalid(ctx, 'less_than_equal', `Input should be less than or equal to ${MAX_LIMIT_PRICE.toFixed()}`);
      }
      return price.toFixed(2);
    })
    .meta({
      // Its JSON Schema (the validator above is a transform, which JSON Schema cannot express).
      description:
        `${description} (\`null\` counts as absent). A price > 0 with at most 2 decimal places ` +
        `(at most ${MAX_LIMIT_PRICE.toFixed()}), as a JSON number (\`187.25\`) or a decimal string (\`"187.25"\`), checked on ` +
        'its exact text: `0.1` is accepted, `0.105` refused; exponents, `NaN`, `Infinity` and hex are refused.',
      anyOf: [
        // As a binary float the largest price, 9999999999999999.99, is 1e16, as is 10000000000000000, which the
        // server refuses: below 1e16 leaves out only the largest price written as a number (as a string it is in).
        { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: MAX_LIMIT_PRICE.toNumber(), multipleOf: 0.01 },
        { type: 'string', pattern: LIMIT_PRICE_PATTERN },
        { type: 'null' },
      ],
    });

export const typesText = (types: readonly OrderType[]) => types.map((type) => `\`${type}\``).join(' and ');
const requiredFor = (field: PriceField) =>
  `Required for ${typesText(PRICE_FIELD_TYPES[field])}, prohibited for ${typesText(ORDER_TYPES.filter((type) => !PRICE_FIELD_TYPES[field].includes(type)))}`;
export const limitPrice = decimalPrice(`${requiredFor('limit_price')}; a \`stop_limit\` order works at it once triggered`);
export const stopPrice = decimalPrice(
  `${requiredFor('stop_price')}: the exchange holds the order until the instrument's price reaches it ` +
    '(a buy: at or above it; a sell: at or below it), then works it as a market (`stop`) or limit (`stop_limit`) order',
);
/** A JSON object: not an array, not null, and not a number (which the parser keeps as an object). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

export function toDetails(issue: z.core.$ZodIssue): ValidationDetail[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ loc: ['body', key], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }));
  }
  const custom = (issue as { params?: { type?: string } }).params?.type;
  const missing = custom === undefined && issue.input === undefined && issue.path.length > 0;
  const loc = ['body', ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part))];
  if (missing) return [{ loc, msg: 'Field required', type: 'missing' }];
  return [{ loc, msg: issue.message, type: custom ?? issue.code }];
}
