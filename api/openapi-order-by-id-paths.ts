import { z } from 'zod';
import type { oas31, ZodOpenApiPathsObject } from 'zod-openapi';
import { LIST_LIMIT } from '../domain/limits.js';
import { amendRequestSchema } from './amend-request.js';
import { IDEMPOTENCY_HEADER } from './idempotency.js';
import { MAX_BODY_BYTES } from './json-body.js';
import {
  cancelInternalError,
  header,
  internalErrorResponse,
  JSON_TYPE,
  json,
  optionalParameter,
  optionsOperation,
  orderIdParameter,
} from './openapi-helpers.js';
import { responseSchemas as schemas } from './openapi-schemas.js';

/** An order answered with its `events` (GET and DELETE of /orders/{id}), `status` narrowed if given. */
const orderWithEvents = (status?: z.ZodType) =>
  z.intersection(
    schemas.Order,
    z.looseObject({ ...(status && { status }), events: z.array(schemas.OrderEvent) }).meta({
      // Order says which properties there are; this part only narrows them.
      override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
        delete jsonSchema.additionalProperties;
      },
    }),
  );

const notFound = json('No order has this id.', schemas.Message);
const badId = json('The id is not a UUID (`loc`: `["path", "id"]`).', schemas.ValidationError);

/** /orders/{id} (get, cancel, amend) and its executions. */
export function orderByIdPaths(): ZodOpenApiPathsObject {
  return {
    '/orders/{id}/executions': {
      parameters: [orderIdParameter as unknown as oas31.ParameterObject],
      get: {
        operationId: 'listExecutions',
        tags: ['orders'],
        summary: "List an order's executions",
        description:
          "The order's execution reports from the venue (fills, busts, its end), in the order the venue sent them, a page at a " +
          "time: pass the answer's `next` as `cursor`. Their sum of fills is the order's `filled_quantity`.",
        requestParams: {
          query: z.object({
            limit: optionalParameter(
              z.int().min(LIST_LIMIT.min).max(LIST_LIMIT.max).default(LIST_LIMIT.default),
              'The most executions in one page.',
            ),
            cursor: optionalParameter(
              z.string().min(1).max(256),
              'Where the page starts: the `next` of the previous page (opaque, signed).',
            ),
          }),
        },
        responses: {
          200: json('A page of executions.', schemas.ExecutionList),
          404: notFound,
          422: json('A bad id, a bad query parameter or a cursor that was altered or belongs to another order.', schemas.ValidationError),
          500: internalErrorResponse,
        },
      },
      options: optionsOperation('executionsOptions', '/orders/{id}/executions', { refusals: { 422: badId } }),
    },
    '/orders/{id}': {
      // zod-openapi renders a zod parameter here too; its types name only OpenAPI's objects.
      parameters: [orderIdParameter as unknown as oas31.ParameterObject],
      get: {
        operationId: 'getOrder',
        tags: ['orders'],
        summary: 'Get an order',
        description: 'The order with its current status and the statuses it took (`events`).',
        responses: {
          200: json('The order, with `events`.', orderWithEvents()),
          404: notFound,
          422: badId,
          500: internalErrorResponse,
        },
      },
      delete: {
        operationId: 'cancelOrder',
        tags: ['orders'],
        summary: 'Cancel an order',
        description:
          'Cancels an order (it is not removed: `GET /orders/{id}` answers it still, with its status). ' +
          'Before the exchange accepted it, it will then never be placed; once it works at the exchange, ' +
          'the exchange cancels the quantity still open and what was filled stays filled (`filled_quantity`). The cancel is first ' +
          "recorded in the order's workflow (durable from then on), then the answer waits for the decision, at most " +
          '`CANCEL_BUDGET_MS` (5 s by default): 200 if the cancel won (`cancelled`, with the filled part), 409 if the order ' +
          'was filled first or is final otherwise, 202 if the decision was not made in time (it follows; read it with ' +
          '`GET /orders/{id}`). A fill that races the cancel is never lost: it counts in `filled_quantity` either way.',
        responses: {
          200: json('Cancelled: the order, status `cancelled`, with `events`.', orderWithEvents(z.literal('cancelled'))),
          202: json(
            'The cancel is recorded and will be decided: the order as it stands now (not final yet), with `events`.',
            orderWithEvents(),
          ),
          404: notFound,
          409: json(
            'The order can no longer be cancelled: it is final (`filled`, `expired`, `rejected`); `status` is its status now.',
            schemas.CancelConflict,
          ),
          422: badId,
          500: cancelInternalError('The cancel'),
        },
      },
      patch: {
        operationId: 'amendOrder',
        tags: ['orders'],
        summary: 'Amend a working order',
        description:
          'Amends an order the venue works (`placed`, `partially_filled`), FIX cancel/replace style: any of `quantity`, ' +
          '`limit_price` (`limit`, `stop_limit`), `stop_price` (`stop`, `stop_limit`, while the venue still holds the stop), ' +
          '`time_in_force` (`ioc`, `fok`: the venue decides the working order at once), each checked as on `POST /orders`. The order keeps its id and its ' +
          "fills (filled before and after the amend all count). The order's workflow decides and the venue applies the replace " +
          'atomically against its book; the answer waits for the decision at most `CANCEL_BUDGET_MS` (5 s by default): 200 the ' +
          "order as amended (a `day` order's new `expires_at` the venue's); 409 naming why not (final, not working at the venue " +
          'yet, a new quantity not above what is already filled: the amend lost a race with a fill, a stop price of a stop already ' +
          'triggered: `already_triggered`); 202 if not decided in time (it follows: `GET /orders/{id}` shows it, an ' +
          '`events` entry whose `reason` starts with `amended:`, with the key that asked as its `actor`). An amend is also an ' +
          "`amended` event of `GET /events`, and an Update (`amendOrder`) in the order's workflow (Temporal Web UI).",
        requestParams: {
          header: z.object({
            [IDEMPOTENCY_HEADER]: optionalParameter(
              z.string().regex(/^[!-~]{1,255}$/),
              'As on `POST /orders`: the same key with the same amend of the same order answers the first 200 again (with ' +
                '`Idempotent-Replayed: true`); with another body, 422; while the first runs, 409. A 202 is not stored: retrying ' +
                'with the key asks again as the same amend (one decision).',
            ),
          }),
        },
        requestBody: {
          required: true,
          description: `JSON (\`Content-Type: application/json\`), at most ${MAX_BODY_BYTES} bytes.`,
          content: {
            [JSON_TYPE]: {
              schema: amendRequestSchema.meta({ ...amendRequestSchema.meta(), id: 'AmendRequest' }),
              examples: {
                quantity: { summary: 'A new quantity', value: { quantity: 150 } },
                limitAndTif: { summary: 'A new limit, good till cancelled', value: { limit_price: '187.30', time_in_force: 'gtc' } },
                stopPrice: { summary: "A held stop's new stop price", value: { stop_price: '190.00' } },
              },
            },
          },
        },
        responses: {
          200: json('Amended: the order as the venue now works it, with `events`.', orderWithEvents(), {
            'Idempotent-Replayed': header(
              z.literal('true').optional(),
              '`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`.',
            ),
          }),
          202: json('The amend is asked and will be decided: the order as it stands now, with `events`.', orderWithEvents()),
          400: json(`A bad or empty \`${IDEMPOTENCY_HEADER}\` header, or a body that is not valid JSON.`, schemas.Message),
          404: notFound,
          408: json(
            'The body stalled: no byte of it arrived for `HTTP_BODY_IDLE_TIMEOUT_MS` (5 s by default). The connection is closed.',
            schemas.Message,
          ),
          409: json(
            `The amend was refused (\`AmendConflict\`, naming why); or a request with the same \`${IDEMPOTENCY_HEADER}\` is still running (\`Message\`).`,
            z.xor([schemas.AmendConflict, schemas.Message]),
          ),
          413: json(`The body is larger than ${MAX_BODY_BYTES} bytes.`, schemas.Message),
          415: json('`Content-Type` is not `application/json`, or its `charset` is not `utf-8`.', schemas.Message),
          422: json(
            'A bad id, an empty body, an unknown field, a field that breaks its `POST /orders` rule, or `limit_price` for a market ' +
              `order (\`ValidationError\`); or the \`${IDEMPOTENCY_HEADER}\` was already used with another request (\`Message\`).`,
            z.xor([schemas.ValidationError, schemas.Message]),
          ),
          500: internalErrorResponse,
        },
      },
      options: optionsOperation('orderOptions', '/orders/{id}', { refusals: { 422: badId } }),
    },
  };
}
