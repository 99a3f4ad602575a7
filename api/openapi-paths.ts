import { z } from 'zod';
import type { oas31, ZodOpenApiPathsObject } from 'zod-openapi';
import { CANCEL_ALL_LIMIT, INSTRUMENT_LENGTH, LIST_LIMIT } from '../domain/limits.js';
import { ORDER_SIDES, ORDER_TYPES } from '../domain/order.js';
import { NO_CONTROL_CHARACTERS_PATTERN } from './control-characters.js';
import { CANCEL_INTERNAL_ERROR_BODY } from './errors.js';
import { STREAM_EVENT_KINDS, type StreamEventKind } from './event-frames.js';
import { LAST_EVENT_ID_HEADER } from './events-routes.js';
import { IDEMPOTENCY_HEADER } from './idempotency.js';
import { MAX_BODY_BYTES } from './json-body.js';
import { CURSOR_PATTERN, MAX_CURSOR_LENGTH } from './list-cursor.js';
import {
  CANCEL_ALL_DECIDED_EXAMPLES,
  CANCEL_ALL_PENDING_EXAMPLES,
  ORDER_REQUEST_EXAMPLES,
  PLACED_ORDER_EXAMPLES,
  POSITION_EXAMPLES,
  POSITION_LIST_EXAMPLES,
} from './openapi-examples.js';
import {
  header,
  internalErrorResponse,
  JSON_TYPE,
  json,
  optionalParameter,
  optionsOperation,
  orderIdParameter,
} from './openapi-helpers.js';
import { documentedOrderRequest } from './openapi-order-request.js';
import { responseSchemas as schemas } from './openapi-schemas.js';
import { amendRequestSchema } from './order-request.js';
import { TIMESTAMP_PATTERN } from './timestamp.js';

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

/**
 * One event of GET /events as its SSE fields (the schema of a `text/event-stream` describes each
 * event, as OpenAPI 3.2's `itemSchema` does): the `retry:` line and the heartbeat comments are no
 * events.
 */
const streamEvent = z
  .strictObject({
    id: z
      .string()
      .regex(/^\d{1,32}$/)
      .meta({ description: 'Its position in the stream (`Last-Event-ID` resumes after it): a decimal integer; keep it as a string.' }),
    event: z
      .enum(Object.keys(STREAM_EVENT_KINDS) as [StreamEventKind, ...StreamEventKind[]])
      .meta({ description: "The event's `kind`: a status change, a fill, a stop triggered, or an amend." }),
    data: z.string().meta({
      description: 'JSON: an `OrderStreamEvent`.',
      contentMediaType: 'application/json',
      contentSchema: { $ref: '#/components/schemas/OrderStreamEvent' },
    }),
  })
  .meta({ description: 'One event of the stream, by its fields (`id:`, `event:`, `data:`); `data` is a JSON `OrderStreamEvent`.' });

/** GET /positions/{instrument}'s instrument (path): the rules of an order's (api/positions-routes.ts). */
const instrumentPathParameter = z
  .string()
  .min(INSTRUMENT_LENGTH)
  .max(INSTRUMENT_LENGTH)
  .meta({
    pattern: NO_CONTROL_CHARACTERS_PATTERN,
    param: {
      name: 'instrument',
      in: 'path',
      description: `The instrument, as orders name it: exactly ${INSTRUMENT_LENGTH} characters (an ISIN's length).`,
    },
  });

/** A timestamp parameter: RFC 3339, as far as the server takes it (api/timestamp.ts). */
const timestamp = z.string().meta({ format: 'date-time', pattern: TIMESTAMP_PATTERN });
const TIMESTAMP_FORM =
  'An RFC 3339 date-time with `Z` or an offset of at most ±15:59 (as PostgreSQL takes them) and at most 9 decimals, ' +
  'e.g. `2026-11-23T20:35:52Z` or `2026-11-23T21:35:52.123+01:00`.';

const notFound = json('No order has this id.', schemas.Message);
const badId = json('The id is not a UUID (`loc`: `["path", "id"]`).', schemas.ValidationError);

/** The `instrument` of a query: an order's (12 characters, no control or format character). */
const instrumentParameter = (description: string) =>
  optionalParameter(z.string().length(INSTRUMENT_LENGTH).regex(new RegExp(NO_CONTROL_CHARACTERS_PATTERN, 'u')), description);

/** A cancel's 500: `what` could not be recorded; its fixed body. */
const cancelInternalError = (what: string) =>
  json(
    `${what} could not be recorded, or the database failed. Exactly \`${JSON.stringify(CANCEL_INTERNAL_ERROR_BODY)}\`; nothing internal leaks.`,
    schemas.CancelInternalError,
  );

/** Every path of the API, its operations, parameters and answers. */
export function buildPaths(): ZodOpenApiPathsObject {
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
    '/positions': {
      get: {
        operationId: 'listPositions',
        tags: ['positions'],
        summary: "List the account's open positions",
        description:
          "Every instrument in which the account's position is not zero, by instrument (one entry each; no pages). A " +
          "position is kept by the ingestion of the venue's fills, in the transaction that stores them: it is the fold of " +
          "the account's standing fills (busts taken out) in the order they were stored, by the average cost rule of " +
          '`Position` (docs/positions.md).',
        responses: {
          200: json('The open positions.', schemas.PositionList, undefined, POSITION_LIST_EXAMPLES),
          422: json('A query parameter: this path takes none (`loc`: `["query", "<parameter>"]`).', schemas.ValidationError),
          500: internalErrorResponse,
        },
      },
      options: optionsOperation('positionsOptions', '/positions', { tag: 'positions' }),
    },
    '/positions/{instrument}': {
      parameters: [instrumentPathParameter as unknown as oas31.ParameterObject],
      get: {
        operationId: 'getPosition',
        tags: ['positions'],
        summary: "Get the account's position in one instrument",
        description: 'The position, flat (`quantity` 0) or not, of an instrument the account traded; 404 if it never did.',
        responses: {
          200: json('The position.', schemas.Position, undefined, POSITION_EXAMPLES),
          404: json('The account never traded this instrument.', schemas.Message),
          422: json(
            `The instrument breaks the rules of an order's \`instrument\` (exactly ${INSTRUMENT_LENGTH} characters, no control or ` +
              'format character; `loc`: `["path", "instrument"]`).',
            schemas.ValidationError,
          ),
          500: internalErrorResponse,
        },
      },
      options: optionsOperation('positionOptions', '/positions/{instrument}', { tag: 'positions' }),
    },
    '/events': {
      get: {
        operationId: 'streamEvents',
        tags: ['events'],
        summary: 'Stream order events (Server-Sent Events)',
        description:
          'A live stream (`text/event-stream`) of every status change and every fill of every order, oldest first. Each ' +
          'event has an `id`, `event` (`status` or `fill`) and `data`: JSON `OrderStreamEvent` (the order as it stands after ' +
          'the event). Ids increase along the stream: a decimal integer (tx × 10^13 + row id, where tx is the writing ' +
          'transaction), larger than a JavaScript number can hold exactly: keep it as a string. A client that reconnects ' +
          'with `Last-Event-ID` (EventSource does so by itself) gets every event after it, nothing twice, in order, then ' +
          'the live tail; without one the stream starts now. A comment line (`:`) comes every `SSE_HEARTBEAT_MS` (15 s). ' +
          'A client that falls `SSE_CLIENT_BUFFER_BYTES` (4 MiB) behind is disconnected: it reconnects with its ' +
          '`Last-Event-ID`. On shutdown the stream ends; reconnect.\n\n' +
          '```\nid:8021000000000001234\nevent:fill\ndata:{"order_id":"…","kind":"fill","at":"…","order":{…},"execution":{…}}\n\n```',
        requestParams: {
          query: z.object({
            order_id: optionalParameter(z.uuid(), "Only this order's events (a UUID; anything else answers 422)."),
            last_event_id: optionalParameter(
              z.string().regex(/^\d{1,32}$/),
              'Resume after this event id, as `Last-Event-ID` does, for clients that cannot set headers; the header wins ' +
                'when both are given. Anything but an id of this stream answers 400.',
            ),
          }),
          header: z.object({
            [LAST_EVENT_ID_HEADER]: optionalParameter(
              z.string().regex(/^\d{1,32}$/),
              'The `id` of the last event received: the stream resumes after it. Anything else answers 400.',
            ),
          }),
        },
        responses: {
          200: {
            description:
              'The stream: `id:`, `event:` and `data:` lines per event (`data` is a JSON `OrderStreamEvent`), heartbeat comments, ' +
              'an initial `retry:`. It does not end until the client leaves or the API stops.',
            content: { 'text/event-stream': { schema: streamEvent } },
          },
          400: json('`Last-Event-ID` (or `last_event_id`) is not an event id of this stream.', schemas.Message),
          422: json(
            'A bad `order_id` (not a UUID) or an unknown query parameter (`loc`: `["query", "<parameter>"]`).',
            schemas.ValidationError,
          ),
          500: internalErrorResponse,
          503: json(
            'This API process already serves `SSE_MAX_CLIENTS` streams (2000 by default), or it is shutting down: retry later or elsewhere.',
            schemas.Message,
          ),
        },
      },
    },
    '/health/live': {
      get: {
        operationId: 'live',
        tags: ['health'],
        summary: 'Liveness',
        description: 'The process answers. Says nothing about PostgreSQL or Temporal.',
        responses: { 200: json('Alive.', schemas.Liveness) },
      },
      options: optionsOperation('liveOptions', '/health/live', { tag: 'health' }),
    },
    '/health/ready': {
      get: {
        operationId: 'ready',
        tags: ['health'],
        summary: 'Readiness',
        description:
          'PostgreSQL reachable with every migration applied, and Temporal reachable. Turns 503 at once on SIGTERM. ' +
          'Prometheus metrics are not on this port: `GET /metrics` on the management port (`MANAGEMENT_PORT`, 9463 by default, loopback unless `MANAGEMENT_HOST` says otherwise).',
        responses: {
          200: json('Ready to take traffic.', schemas.Readiness),
          503: json('Not ready: a check failed, or the process is shutting down.', schemas.Readiness),
        },
      },
      options: optionsOperation('readyOptions', '/health/ready', { tag: 'health' }),
    },
  };
}
