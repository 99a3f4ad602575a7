import { z } from 'zod';
import type { TimeInForce } from '../domain/order.js';
import { controlCharacterDetails, mergeDetails } from './control-characters.js';
import { RequestValidationError } from './errors.js';
import { orderRequestSchema } from './order-request.js';
import { isJsonObject, limitPrice, priceProhibited, quantity, stopPrice, toDetails } from './order-request-fields.js';

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
 * the order (api/amend-order.ts), whether its stop has triggered by the venue.
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
