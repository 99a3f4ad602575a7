import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { CANCEL_ALL_LIMIT, INSTRUMENT_LENGTH, LIST_LIMIT } from '../domain/limits.js';
import { ORDER_SIDES, ORDER_TYPES } from '../domain/order.js';
import { NO_CONTROL_CHARACTERS_PATTERN } from './control-characters.js';
import { IDEMPOTENCY_HEADER } from './idempotency.js';
import { MAX_BODY_BYTES } from './json-body.js';
import { CURSOR_PATTERN, MAX_CURSOR_LENGTH } from './list-cursor.js';
import {
  CANCEL_ALL_DECIDED_EXAMPLES,
  CANCEL_ALL_PENDING_EXAMPLES,
  ORDER_REQUEST_EXAMPLES,
  PLACED_ORDER_EXAMPLES,
} from './openapi-examples.js';
import {
  cancelInternalError,
  header,
  internalErrorResponse,
  JSON_TYPE,
  json,
  optionalParameter,
  optionsOperation,
} from './openapi-helpers.js';
import { documentedOrderRequest } from './openapi-order-request.js';
import { responseSchemas as schemas } from './openapi-schemas.js';
import { TIMESTAMP_PATTERN } from './timestamp.js';

/** A timestamp parameter: RFC 3339, as far as the server takes it (api/timestamp.ts). */
const timestamp = z.string().meta({ format: 'date-time', pattern: TIMESTAMP_PATTERN });
const TIMESTAMP_FORM =
  'An RFC 3339 date-time with `Z` or an offset of at most ±15:59 (as PostgreSQL takes them) and at most 9 decimals, ' +
  'e.g. `2026-11-23T20:35:52Z` or `2026-11-23T21:35:52.123+01:00`.';

/** The `instrument` of a query: an order's (12 characters, no control or format character). */
const instrumentParameter = (description: string) =>
  optionalParameter(z.string().length(INSTRUMENT_LENGTH).regex(new RegExp(NO_CONTROL_CHARACTERS_PATTERN, 'u')), description);

/** /orders: place, list and cancel every open order. */
export function ordersPaths(): ZodOpenApiPathsObject {
  return {
    '/orders': {
      post: {
        operationId: 'placeOrder',
        tags: ['orders'],
        summary: 'Place an order',
        description:
          'Stores the order and starts the Temporal workflow that places it at the exchange. Answers 201 only once the ' +
          'order is stored **and** Temporal has durably accepted its workflow, so a 201 means the order will be placed ' +
          '(unless cancelled first); a 500 means it never will be.',
        requestParams: {
          header: z.object({
            [IDEMPOTENCY_HEADER]: optionalParameter(
              z.string().regex(/^[!-~]{1,255}$/),
              '1–255 visible ASCII characters (a header present but empty is a bad key: 400). The same key with the same order (compared after parsing) answers the first ' +
                'answer again, with `Idempotent-Replayed: true`, and creates nothing; with another order, 422; while the first ' +
                'request with the key is still running, 409. Failed requests (500) are not stored: retry with the same key. ' +
                'Keys are kept at least 24 hours.',
            ),
          }),
        },
        requestBody: {
          required: true,
          description: `JSON (\`Content-Type: application/json\`), at most ${MAX_BODY_BYTES} bytes.`,
          content: { [JSON_TYPE]: { schema: documentedOrderRequest, examples: ORDER_REQUEST_EXAMPLES } },
        },
        responses: {
          201: json(
            'Stored, and its workflow durably started: the order, status `accepted`.',
            schemas.Order,
            {
              'Idempotent-Replayed': header(
                z.literal('true').optional(),
                '`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`.',
              ),
            },
            PLACED_ORDER_EXAMPLES,
          ),
          400: json(
            `A bad or empty \`${IDEMPOTENCY_HEADER}\` header, a body that is not valid UTF-8, a body that is not valid JSON or ` +
              'whose strings are not Unicode text (an unpaired `\\ud800`-style escape; both `Malformed JSON: …`), or a body that could not be read.',
            schemas.Message,
          ),
          408: json(
            'The body stalled: no byte of it arrived for `HTTP_BODY_IDLE_TIMEOUT_MS` (5 s by default). The connection is closed.',
            schemas.Message,
          ),
          409: json(
            `A request with the same \`${IDEMPOTENCY_HEADER}\` is still running (\`Message\`); or the account already has an order ` +
              'with this `client_order_id` (`ClientOrderIdTaken`, naming that order).',
            z.xor([schemas.ClientOrderIdTaken, schemas.Message]),
          ),
          413: json(`The body is larger than ${MAX_BODY_BYTES} bytes.`, schemas.Message),
          415: json('`Content-Type` is not `application/json`, or its `charset` is not `utf-8`.', schemas.Message),
          422: json(
            `A field breaks a rule, is missing or is unknown, or a string holds a control or format character ` +
              `(Unicode Cc or Cf: NUL, C0/C1 controls, bidi overrides, zero-width; type \`string_control_character\`) ` +
              `(\`ValidationError\`); or the \`${IDEMPOTENCY_HEADER}\` was already used with another order (\`Message\`).`,
            z.xor([schemas.ValidationError, schemas.Message]),
          ),
          500: internalErrorResponse,
        },
      },
      get: {
        operationId: 'listOrders',
        tags: ['orders'],
        summary: 'List orders',
        description: "Orders, newest first, a page at a time: pass the answer's `next` as `cursor` to get the next page.",
        requestParams: {
          query: z.object({
            status: optionalParameter(
              z.array(schemas.OrderStatus),
              'Only orders in one of these statuses: repeat the parameter (`status=placed&status=rejected`) or separate ' +
                'the statuses with commas (`status=placed,rejected`).',
              { style: 'form', explode: true },
            ),
            instrument: instrumentParameter('Only orders for this instrument.'),
            side: optionalParameter(z.enum(ORDER_SIDES), 'Only buy or only sell orders.'),
            type: optionalParameter(z.enum(ORDER_TYPES), 'Only market or only limit orders.'),
            created_from: optionalParameter(timestamp, `Only orders created at or after this time. ${TIMESTAMP_FORM}`),
            created_to: optionalParameter(timestamp, `Only orders created before this time. ${TIMESTAMP_FORM}`),
            client_order_id: optionalParameter(
              z.string().regex(/^[\x21-\x7e]{1,64}$/),
              'The order with this `client_order_id` (yours): how to find an order whose answer you lost.',
            ),
            limit: optionalParameter(
              z.int().min(LIST_LIMIT.min).max(LIST_LIMIT.max).default(LIST_LIMIT.default),
              'The most orders in one page.',
            ),
            cursor: optionalParameter(
              z.string().min(1).max(MAX_CURSOR_LENGTH).regex(new RegExp(CURSOR_PATTERN)),
              'Where the page starts: the `next` of the previous page (opaque, signed), with the same filters. ' +
                'Anything else, an empty value included, answers 422.',
            ),
          }),
        },
        responses: {
          200: json('A page of orders.', schemas.OrderList),
          422: json(
            'A query parameter breaks a rule, or holds a control or format character (`loc`: `["query", "<parameter>"]`); ' +
              'a cursor that was altered, forged, or issued for other filters.',
            schemas.ValidationError,
          ),
          500: internalErrorResponse,
        },
      },
      delete: {
        operationId: 'cancelAllOrders',
        tags: ['orders'],
        summary: 'Cancel every open order',
        description:
          "Cancels every open (not final) order of the caller's account, or of one instrument (`instrument`); another " +
          "account's orders are never touched. Each is cancelled exactly as `DELETE /orders/{id}` cancels it (the same " +
          "workflow signal, the same `actor` in its history). Every cancel is recorded in its order's workflow first, then the " +
          `decisions are awaited, all within one \`CANCEL_BUDGET_MS\` (5 s by default), at most ${CANCEL_ALL_LIMIT.concurrency} ` +
          'calls to Temporal at once. 200 once each order asked is decided (`cancelled` or `not_cancelled` with why); 202 ' +
          'when some are not decided in time (`pending`: their decisions follow, read them with `GET /orders/{id}`). At most ' +
          `${CANCEL_ALL_LIMIT.orders} orders a call, newest first: \`has_more\` says open orders remain (call again). ` +
          'Each order asked is in exactly one list. `Idempotency-Key` is not honoured (ignored): a repeat cancels what is ' +
          'open then, orders placed since included. Counts as one request against the rate limit.',
        requestParams: {
          query: z.object({ instrument: instrumentParameter('Only the open orders of this instrument.') }),
        },
        responses: {
          200: json('Every order asked is decided.', schemas.CancelAllResult, undefined, CANCEL_ALL_DECIDED_EXAMPLES),
          202: json(
            'Every order asked has its cancel recorded; those in `pending` are not decided yet.',
            schemas.CancelAllResult,
            undefined,
            CANCEL_ALL_PENDING_EXAMPLES,
          ),
          422: json(
            'A bad `instrument`, given more than once, or an unknown query parameter (`loc`: `["query", "<parameter>"]`).',
            schemas.ValidationError,
          ),
          500: cancelInternalError('Not one of the cancels'),
        },
      },
      options: optionsOperation('ordersOptions', '/orders'),
    },
  };
}
