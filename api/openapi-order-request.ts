import { z } from 'zod';
import { ORDER_TYPES, type OrderType } from '../domain/order.js';
import { LIMIT_PRICE_PROHIBITED, orderRequestSchema } from './order-request.js';

// The documented request body: the validator's own fields (api/order-request.ts), one closed
// schema per order type, as a `oneOf` with a discriminator on `type`. The validator itself stays
// one object: a discriminated union stops at an unknown or missing `type`, and the 422 must name
// every failing field at once.

type JsonSchema = Record<string, unknown>;
const { limit_price: validatedPrice } = orderRequestSchema.shape;

/** `limit_price` in a market order: absent, or null (which counts as absent). */
const absentPrice = z
  .null()
  .optional()
  .meta({ description: `Absent or \`null\`: ${LIMIT_PRICE_PROHIBITED}.` });

/** A limit order's `limit_price`: the validator's own field, required, and its schema without `null`. */
const requiredPrice = validatedPrice.unwrap();
function withoutNullPrice({ jsonSchema }: { jsonSchema: JsonSchema }): void {
  const properties = jsonSchema.properties as Record<string, JsonSchema>;
  const price = properties.limit_price as JsonSchema;
  properties.limit_price = { ...price, anyOf: (price.anyOf as JsonSchema[]).filter((branch) => branch.type !== 'null') };
}

const LIMIT_PRICE: Record<OrderType, z.ZodType> = { market: absentPrice, limit: requiredPrice };
const OVERRIDES: Partial<Record<OrderType, typeof withoutNullPrice>> = { limit: withoutNullPrice };
const TITLES: Record<OrderType, string> = { market: 'A market order', limit: 'A limit order' };

const componentId = (type: OrderType) => `${type[0]!.toUpperCase()}${type.slice(1)}OrderRequest`;

/** The request of one order type: every field of the validator, in its order, `type` fixed. */
function orderRequestOf<T extends OrderType>(type: T) {
  return z
    .strictObject({ ...orderRequestSchema.shape, type: z.literal(type), limit_price: LIMIT_PRICE[type] })
    .meta({ id: componentId(type), title: TITLES[type], ...(OVERRIDES[type] && { override: OVERRIDES[type] }) });
}

const [first, ...rest] = ORDER_TYPES.map(orderRequestOf);

/** POST /orders' body as documented: one schema per order type, told apart by `type`. */
export const documentedOrderRequest = z
  .discriminatedUnion('type', [first!, ...rest])
  .meta({ id: 'OrderRequest', description: orderRequestSchema.meta()?.description });
