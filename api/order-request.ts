import { Decimal } from 'decimal.js';
import { isLosslessNumber } from 'lossless-json';
import { z } from 'zod';
import { INSTRUMENT_LENGTH, MAX_LIMIT_PRICE_TEXT, MAX_QUANTITY } from '../domain/limits.js';
import {
  hasLimitPrice,
  isStopType,
  type NewOrder,
  ORDER_SIDES,
  ORDER_TYPES,
  type OrderType,
  TIME_IN_FORCE,
  type TimeInForce,
} from '../domain/order.js';
import { controlCharacterDetails, mergeDetails, NO_CONTROL_CHARACTERS_PATTERN } from './control-characters.js';
import { expectedOneOf, RequestValidationError, type ValidationDetail } from './errors.js';

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

const quantity = z
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

const typesText = (types: readonly OrderType[]) => types.map((type) => `\`${type}\``).join(' and ');
const requiredFor = (field: PriceField) =>
  `Required for ${typesText(PRICE_FIELD_TYPES[field])}, prohibited for ${typesText(ORDER_TYPES.filter((type) => !PRICE_FIELD_TYPES[field].includes(type)))}`;
const limitPrice = decimalPrice(`${requiredFor('limit_price')}; a \`stop_limit\` order works at it once triggered`);
const stopPrice = decimalPrice(
  `${requiredFor('stop_price')}: the exchange holds the order until the instrument's price reaches it ` +
    '(a buy: at or above it; a sell: at or below it), then works it as a market (`stop`) or limit (`stop_limit`) order',
);

/** JSON Schema of the whole order: its description and the cross-field rules of priceRules, one if/then per type and field. */
const ORDER_REQUEST_JSON_SCHEMA = {
  description:
    'A stock order. Unknown fields are rejected (422, `extra_forbidden`). ' +
    PRICE_FIELDS.map(
      (field) =>
        `\`${field}\` is required for ${typesText(PRICE_FIELD_TYPES[field])} ("${priceRequired(field, PRICE_FIELD_TYPES[field][0]!)}") ` +
        `and prohibited otherwise ("${priceProhibited(field, ORDER_TYPES.find((type) => !PRICE_FIELD_TYPES[field].includes(type))!)}").`,
    ).join(' '),
  allOf: PRICE_FIELDS.flatMap((field) =>
    ORDER_TYPES.map((type) => ({
      if: { type: 'object', properties: { type: { const: type } }, required: ['type'] },
      then: PRICE_FIELD_TYPES[field].includes(type)
        ? { type: 'object', properties: { [field]: { not: { type: 'null' } } }, required: [field] }
        : { type: 'object', properties: { [field]: { type: 'null' } } },
    })),
  ),
};

export const orderRequestSchema = z
  .strictObject(
    {
      type: z.enum(ORDER_TYPES, { error: expectedOneOf(ORDER_TYPES) }).meta({
        description:
          'A market or a limit order; or a stop (`stop`, `stop_limit`): held by the exchange until the price reaches `stop_price`, ' +
          'then worked as a market or a limit order.',
      }),
      side: z.enum(ORDER_SIDES, { error: "Input should be 'buy' or 'sell'" }).meta({ description: 'Buy or sell.' }),
      instrument: z
        .string({ error: 'Input should be a valid string' })
        .refine((value) => [...value].length === INSTRUMENT_LENGTH, {
          message: `String should have exactly ${INSTRUMENT_LENGTH} characters`,
        })
        .meta({
          description:
            `Exactly ${INSTRUMENT_LENGTH} characters (an ISIN's length), none of them a control or format character (Unicode Cc or Cf). ` +
            '`pattern` lists those: the BMP ones as `\\u` ranges, the astral ones (invisible format characters such as U+E0001) ' +
            'as literal characters in a lookahead, so that engines reading code points and engines reading UTF-16 code units agree.',
          minLength: INSTRUMENT_LENGTH,
          maxLength: INSTRUMENT_LENGTH,
          pattern: NO_CONTROL_CHARACTERS_PATTERN,
        }),
      limit_price: limitPrice.optional(),
      stop_price: stopPrice.optional(),
      quantity,
      client_order_id: z
        .string({ error: 'Input should be a valid string' })
        .regex(/^[\x21-\x7e]{1,64}$/, { message: 'String should be 1 to 64 visible ASCII characters' })
        .optional()
        .meta({
          description:
            'Your own id for the order (1–64 visible ASCII characters), unique in your account: a second order with it answers ' +
            '409 naming the first. Find an order whose answer you lost with `GET /orders?client_order_id=…`.',
        }),
      time_in_force: z
        .enum(TIME_IN_FORCE, { error: expectedOneOf(TIME_IN_FORCE) })
        .optional()
        .meta({
          description:
            "`day` (the default): expires at the exchange's close if not filled; `gtc`: good till cancelled; " +
            '`ioc` (immediate or cancel): what can fill at once fills, the exchange cancels the rest (the filled part stays filled); ' +
            '`fok` (fill or kill): fills whole at once or the exchange cancels it with nothing filled. A stop with `ioc` or `fok` ' +
            'is decided when it triggers (until then it waits as a `day` order does). Both end in a final status without a cancel.',
        }),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'Extra inputs are not permitted' : 'Input should be a valid object') },
  )
  .meta(ORDER_REQUEST_JSON_SCHEMA);

/** Validates a parsed JSON body; throws RequestValidationError naming every failing field. */
export function parseOrderRequest(body: unknown): NewOrder {
  if (!isJsonObject(body)) {
    throw new RequestValidationError([{ loc: ['body'], msg: 'Input should be a valid object', type: 'model_attributes_type' }]);
  }
  // reportInput: zod 4 drops each issue's input otherwise, and it tells "missing" from "wrong".
  const result = orderRequestSchema.safeParse(body, { reportInput: true });
  // A control character is the one problem named for its field (unknown fields are refused anyway).
  const controls = controlCharacterDetails(body, Object.keys(orderRequestSchema.shape), 'body');
  const details = mergeDetails(controls, result.success ? [] : result.error.issues.flatMap(toDetails));
  // The price rules of the type are checked whatever else fails, so one answer names every problem.
  for (const rule of priceRules(body)) if (!details.some((detail) => detail.loc[1] === rule.loc[1])) details.push(rule);
  if (!result.success || details.length > 0) throw new RequestValidationError(details);

  const { type, side, instrument, limit_price, stop_price, quantity, time_in_force, client_order_id } = result.data;
  return {
    type,
    side,
    instrument,
    limitPrice: limit_price ?? null,
    stopPrice: stop_price ?? null,
    quantity: quantity as number,
    timeInForce: time_in_force ?? 'day',
    clientOrderId: client_order_id ?? null,
  };
}

/** Each price field the body's type requires and lacks, or prohibits and has (none for a type that is not one). */
function priceRules(body: Record<string, unknown>): ValidationDetail[] {
  const type = ORDER_TYPES.find((known) => known === body.type);
  if (type === undefined) return [];
  return PRICE_FIELDS.flatMap((field): ValidationDetail[] => {
    const has = body[field] !== undefined && body[field] !== null;
    const required = PRICE_FIELD_TYPES[field].includes(type);
    if (required && !has) return [{ loc: ['body', field], msg: priceRequired(field, type), type: 'value_error' }];
    if (!required && has) return [{ loc: ['body', field], msg: priceProhibited(field, type), type: 'value_error' }];
    return [];
  });
}

/** A JSON object: not an array, not null, and not a number (which the parser keeps as an object). */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

function toDetails(issue: z.core.$ZodIssue): ValidationDetail[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ loc: ['body', key], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }));
  }
  const custom = (issue as { params?: { type?: string } }).params?.type;
  const missing = custom === undefined && issue.input === undefined && issue.path.length > 0;
  const loc = ['body', ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part))];
  if (missing) return [{ loc, msg: 'Field required', type: 'missing' }];
  return [{ loc, msg: issue.message, type: custom ?? issue.code }];
}

/** A validated amend (PATCH /orders/{id}): the fields to change, at least one. */
export interface AmendOrder {
  quantity?: number;
  limitPrice?: string;
  stopPrice?: string;
  timeInForce?: TimeInForce;
}

export const AMEND_EMPTY = 'At least one of `quantity`, `limit_price`, `stop_price`, `time_in_force` is required';

/**
 * The amend's body: each field checked by POST's own rules (the same validators and messages),
 * unknown fields refused. Whether the order's type has a limit or a stop price is checked against
 * the order (api/orders-routes.ts), whether its stop has triggered by the venue.
 */
export const amendRequestSchema = z
  .strictObject(
    {
      quantity: quantity.optional(),
      limit_price: limitPrice.optional(),
      stop_price: stopPrice.optional(),
      time_in_force: orderRequestSchema.shape.time_in_force,
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'Extra inputs are not permitted' : 'Input should be a valid object') },
  )
  .meta({
    description:
      `Amends a working order: any of \`quantity\`, \`limit_price\`, \`stop_price\`, \`time_in_force\`, each checked as on ` +
      `\`POST /orders\`; an empty body is refused (422, "${AMEND_EMPTY}"), as are unknown fields (\`extra_forbidden\`), ` +
      `\`limit_price\` for a type without one ("${priceProhibited('limit_price', 'market')}"), \`stop_price\` for a type ` +
      `without one ("${priceProhibited('stop_price', 'limit')}"). ` +
      '`stop_price` only while the exchange still holds the stop: once triggered, 409 `already_triggered`. `time_in_force` ' +
      '`ioc` or `fok` has the exchange decide the working order at once, as a new one (what can fill fills, the rest is ' +
      'cancelled; `fok`: all of it or nothing); a held stop keeps it for its trigger. `null` counts as absent.',
    minProperties: 1,
  });

/** Validates an amend's parsed JSON body; throws RequestValidationError naming every failing field. */
export function parseAmendRequest(body: unknown): AmendOrder {
  if (!isJsonObject(body)) {
    throw new RequestValidationError([{ loc: ['body'], msg: 'Input should be a valid object', type: 'model_attributes_type' }]);
  }
  const result = amendRequestSchema.safeParse(body, { reportInput: true });
  const controls = controlCharacterDetails(body, Object.keys(amendRequestSchema.shape), 'body');
  const details = mergeDetails(controls, result.success ? [] : result.error.issues.flatMap(toDetails));
  // `quantity` absent is fine here: POST's "Field required" is not an amend's rule.
  const checked = details.filter((detail) => !(detail.type === 'missing' && detail.loc[1] === 'quantity' && body.quantity === undefined));
  if (checked.length > 0) throw new RequestValidationError(checked);
  if (!result.success) throw new RequestValidationError(details);
  const { quantity: newQuantity, limit_price, stop_price, time_in_force } = result.data;
  const amend: AmendOrder = {
    ...(newQuantity !== undefined && { quantity: newQuantity as number }),
    ...(limit_price !== undefined && limit_price !== null && { limitPrice: limit_price }),
    ...(stop_price !== undefined && stop_price !== null && { stopPrice: stop_price }),
    ...(time_in_force !== undefined && time_in_force !== null && { timeInForce: time_in_force }),
  };
  if (Object.keys(amend).length === 0) throw new RequestValidationError([{ loc: ['body'], msg: AMEND_EMPTY, type: 'missing' }]);
  return amend;
}
