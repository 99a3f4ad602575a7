import { z } from 'zod';
import { AMEND_REFUSALS } from '../temporal/messages.js';
import { CANCEL_INTERNAL_ERROR_BODY, INTERNAL_ERROR_BODY } from './errors.js';
import { orderStatus } from './openapi-order-schemas.js';

// The bodies of the API's refusals and failures (api/errors.ts).

export const message = z.strictObject({ message: z.string() }).meta({ description: 'An error the client can act on, and why.' });

export const validationError = z
  .strictObject({
    detail: z
      .array(
        z.strictObject({
          loc: z
            .array(z.union([z.string(), z.int()]))
            .meta({ description: 'Where: `["body", "<field>"]`, `["query", "<parameter>"]`, `["path", "id"]`.' }),
          msg: z.string(),
          type: z.string().meta({ description: 'The rule broken, e.g. `missing`, `extra_forbidden`, `decimal_max_places`.' }),
        }),
      )
      .min(1),
  })
  .meta({ description: "A request that breaks a rule: one entry per failing field (FastAPI's shape)." });

export const internalError = z
  .strictObject({ message: z.literal(INTERNAL_ERROR_BODY.message) })
  .meta({ description: 'Any internal failure (database or Temporal down or hung, anything unexpected): always exactly this body.' });

export const cancelInternalError = z
  .strictObject({ message: z.literal(CANCEL_INTERNAL_ERROR_BODY.message) })
  .meta({ description: 'The cancel could not be recorded (Temporal unreachable, or the database failing): always exactly this body.' });

export const clientOrderIdTaken = z
  .strictObject({ message: z.string(), order_id: z.uuid().meta({ description: 'The order that has this `client_order_id`.' }) })
  .meta({ description: "The account's order with this `client_order_id`: look it up with GET /orders/{order_id}." });

export const cancelConflict = z
  .strictObject({ message: z.string(), status: orderStatus })
  .meta({ description: 'The order can no longer be cancelled; `status` is its status now.' });

export const amendConflict = z
  .strictObject({
    message: z.string(),
    reason: z.enum(AMEND_REFUSALS),
  })
  .meta({
    description:
      'The amend was refused, `reason` says why: `final` (the order is filled, cancelled, expired or rejected, or ended as the ' +
      'amend was decided), `not_working_yet` (not placed at the venue yet: retry once it is), `cancel_requested` (a cancel came ' +
      'first), `quantity_not_above_filled` (the new quantity is not above what the venue had filled: the amend lost a race with a ' +
      'fill), `already_triggered` (a `stop_price` asked of a stop the exchange has already triggered: it works as a market or ' +
      'limit order now; the amend lost a race with the trigger if it was held when asked), `limit_price_not_for_market`, ' +
      '`stop_price_not_for_type` (both refused with 422 before the venue is asked), `unknown_order` (the venue does not know it).',
  });
