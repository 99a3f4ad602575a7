import { z } from 'zod';
import { ORDER_TYPES, type OrderType } from '../domain/order.js';
import { orderRequestSchema } from './order-request.js';
import { PRICE_FIELD_TYPES, PRICE_FIELDS, type PriceField, priceProhibited } from './order-request-fields.js';

// The documented request body: the validator's own fields (api/order-request.ts), one closed
// schema per order type, as a `oneOf` with a discriminator on `type`. The validator itself stays
// one object: a discriminated union stops at an unknown or missing `type`, and the 422 must name
// every failing field at once.

type JsonSchema = Record<string, unknown>;

/** A price field an order type prohibits: absent, or null (which counts as absent). */
const absentPrice = (field: PriceField, type: OrderType) =>
  z
    .null()
    .optional()
    .meta({ description: `Absent or \`null\`: ${priceProhibited(field, type)}.` });

/** A price field an order type requires: the validator's own field, required, and its schema without `null`. */
const requiredPrice = (field: PriceField) => orderRequestSchema.shape[field].unwrap();

const requires = (type: OrderType, field: PriceField) => PRICE_FIELD_TYPES[field].includes(type);

/** Drops the `null` branch of each price field the type requires from the generated JSON Schema. */
const withoutNullPrices =
  (type: OrderType) =>
  ({ jsonSchema }: { jsonSchema: JsonSchema }): void => {
    const properties = jsonSchema.properties as Record<string, JsonSchema>;
    for (const field of PRICE_FIELDS.filter((field) => requires(type, field))) {
      const price = properties[field] as JsonSchema;
      properties[field] = { ...price, anyOf: (price.anyOf as JsonSchema[]).filter((branch) => branch.type !== 'null') };
    }
  };

const TITLES: Record<OrderType, string> = {
  market: 'A market order',
  limit: 'A limit order',
  stop: 'A stop order',
  stop_limit: 'A stop-limit order',
};

const componentId = (type: OrderType) =>
  `${type
    .split('_')
    .map((word) => `${word[0]!.toUpperCase()}${word.slice(1)}`)
    .join('')}OrderRequest`;

/** The request of one order type: every field of the validator, in its order, `type` fixed. */
function orderRequestOf<T extends OrderType>(type: T) {
  const prices = Object.fromEntries(
    PRICE_FIELDS.map((field) => [field, requires(type, field) ? requiredPrice(field) : absentPrice(field, type)]),
  ) as Record<string, z.ZodType>;
  const override = PRICE_FIELDS.some((field) => requires(type, field)) ? { override: withoutNullPrices(type) } : {};
  return z
    .strictObject({ ...orderRequestSchema.shape, type: z.literal(type), ...prices })
    .meta({ id: componentId(type), title: TITLES[type], ...override });
}

const [first, ...rest] = ORDER_TYPES.map(orderRequestOf);

/** POST /orders' body as documented: one schema per order type, told apart by `type`. */
export const documentedOrderRequest = z
  .discriminatedUnion('type', [first!, ...rest])
  .meta({ id: 'OrderRequest', description: orderRequestSchema.meta()?.description });
