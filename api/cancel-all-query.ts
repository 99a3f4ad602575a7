import { z } from 'zod';
import { RequestValidationError } from './errors.js';
import { dedupe, instrumentParameter, queryDetails } from './list-orders-query.js';

/**
 * DELETE /orders' query: `instrument` (once, validated as an order's). Any other parameter is
 * refused as GET /orders refuses it; every bad one is named in one 422.
 */

export interface CancelAllParams {
  /** Only the open orders of this instrument; every open order when absent. */
  instrument?: string;
}

const cancelAllQuerySchema = z.strictObject({ instrument: instrumentParameter.optional() }, { error: 'Extra inputs are not permitted' });

/** Validates DELETE /orders' query (as Koa parsed it); throws RequestValidationError naming every bad parameter. */
export function parseCancelAllQuery(query: Record<string, string | string[] | undefined>): CancelAllParams {
  const result = cancelAllQuerySchema.safeParse(query);
  const details = queryDetails(cancelAllQuerySchema, query, result);
  if (!result.success || details.length > 0) throw new RequestValidationError(dedupe(details));
  return result.data.instrument === undefined ? {} : { instrument: result.data.instrument };
}
