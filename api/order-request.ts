import { z } from 'zod';
import { INSTRUMENT_LENGTH } from '../domain/limits.js';
import { type NewOrder, ORDER_SIDES, ORDER_TYPES, TIME_IN_FORCE } from '../domain/order.js';
import { controlCharacterDetails, mergeDetails, NO_CONTROL_CHARACTERS_PATTERN } from './control-characters.js';
import { expectedOneOf, RequestValidationError, type ValidationDetail } from './errors.js';
import {
  isJsonObject,
  limitPrice,
  PRICE_FIELD_TYPES,
  PRICE_FIELDS,
  priceProhibited,
  priceRequired,
  quantity,
  stopPrice,
  toDetails,
  typesText,
} from './order-request-fields.js';

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
