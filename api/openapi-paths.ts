import { INSTRUMENT_LENGTH, LIST_LIMIT } from '../domain/limits.js';
import { ORDER_SIDES, ORDER_TYPES } from '../domain/order.js';
import { NO_CONTROL_CHARACTERS_PATTERN } from './control-characters.js';
import { CANCEL_INTERNAL_ERROR_BODY } from './errors.js';
import { IDEMPOTENCY_HEADER } from './idempotency.js';
import { MAX_BODY_BYTES } from './json-body.js';
import { CURSOR_PATTERN, MAX_CURSOR_LENGTH } from './list-cursor.js';
import { enumParameter, internalErrorResponse, JSON_TYPE, json, optionsOperation, orderIdParameter } from './openapi-helpers.js';
import { ref } from './openapi-schemas.js';
import type { OpenApiPathItem } from './openapi-types.js';

/** Every path of the API, its operations, parameters and answers. */
export function buildPaths(): Record<string, OpenApiPathItem> {
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
        parameters: [
          {
            name: IDEMPOTENCY_HEADER,
            in: 'header',
            required: false,
            description:
              '1–255 visible ASCII characters (a header present but empty is a bad key: 400). The same key with the same order (compared after parsing) answers the first ' +
              'answer again, with `Idempotent-Replayed: true`, and creates nothing; with another order, 422; while the first ' +
              'request with the key is still running, 409. Failed requests (500) are not stored: retry with the same key. ' +
              'Keys are kept at least 24 hours.',
            schema: { type: 'string', pattern: '^[!-~]{1,255}$' },
          },
        ],
        requestBody: {
          required: true,
          description: `JSON (\`Content-Type: application/json\`), at most ${MAX_BODY_BYTES} bytes.`,
          content: {
            [JSON_TYPE]: {
              schema: ref('OrderRequest'),
              examples: {
                limit: {
                  summary: 'A limit order',
                  value: { type: 'limit', side: 'buy', instrument: 'US0378331005', limit_price: 187.25, quantity: 10 },
                },
                market: { summary: 'A market order', value: { type: 'market', side: 'sell', instrument: 'US0378331005', quantity: 5 } },
              },
            },
          },
        },
        responses: {
          201: json('Stored, and its workflow durably started: the order, status `accepted`.', ref('Order'), {
            'Idempotent-Replayed': {
              description: '`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`.',
              required: false,
              schema: { type: 'string', const: 'true' },
            },
          }),
          400: json(
            `A bad or empty \`${IDEMPOTENCY_HEADER}\` header, a body that is not valid UTF-8, a body that is not valid JSON or ` +
              'whose strings are not Unicode text (an unpaired `\\ud800`-style escape; both `Malformed JSON: …`), or a body that could not be read.',
            ref('Message'),
          ),
          408: json(
            'The body stalled: no byte of it arrived for `HTTP_BODY_IDLE_TIMEOUT_MS` (5 s by default). The connection is closed.',
            ref('Message'),
          ),
          409: json(`A request with the same \`${IDEMPOTENCY_HEADER}\` is still running.`, ref('Message')),
          413: json(`The body is larger than ${MAX_BODY_BYTES} bytes.`, ref('Message')),
          415: json('`Content-Type` is not `application/json`, or its `charset` is not `utf-8`.', ref('Message')),
          422: json(
            `A field breaks a rule, is missing or is unknown, or a string holds a control or format character ` +
              `(Unicode Cc or Cf: NUL, C0/C1 controls, bidi overrides, zero-width; type \`string_control_character\`) ` +
              `(\`ValidationError\`); or the \`${IDEMPOTENCY_HEADER}\` was already used with another order (\`Message\`).`,
            { oneOf: [ref('ValidationError'), ref('Message')] },
          ),
          500: internalErrorResponse,
        },
      },
      get: {
        operationId: 'listOrders',
        tags: ['orders'],
        summary: 'List orders',
        description: "Orders, newest first, a page at a time: pass the answer's `next` as `cursor` to get the next page.",
        parameters: [
          {
            name: 'status',
            in: 'query',
            required: false,
            style: 'form',
            explode: true,
            description:
              'Only orders in one of these statuses: repeat the parameter (`status=placed&status=rejected`) or separate ' +
              'the statuses with commas (`status=placed,rejected`).',
            schema: { type: 'array', items: ref('OrderStatus') },
          },
          {
            name: 'instrument',
            in: 'query',
            required: false,
            description: 'Only orders for this instrument.',
            schema: { type: 'string', minLength: INSTRUMENT_LENGTH, maxLength: INSTRUMENT_LENGTH, pattern: NO_CONTROL_CHARACTERS_PATTERN },
          },
          enumParameter('side', ORDER_SIDES, 'Only buy or only sell orders.'),
          enumParameter('type', ORDER_TYPES, 'Only market or only limit orders.'),
          {
            name: 'created_from',
            in: 'query',
            required: false,
            description: 'Only orders created at or after this time.',
            schema: { type: 'string', format: 'date-time' },
          },
          {
            name: 'created_to',
            in: 'query',
            required: false,
            description: 'Only orders created before this time.',
            schema: { type: 'string', format: 'date-time' },
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: 'The most orders in one page.',
            schema: { type: 'integer', minimum: LIST_LIMIT.min, maximum: LIST_LIMIT.max, default: LIST_LIMIT.default },
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            description:
              'Where the page starts: the `next` of the previous page (opaque, signed), with the same filters. ' +
              'Anything else, an empty value included, answers 422.',
            schema: { type: 'string', minLength: 1, maxLength: MAX_CURSOR_LENGTH, pattern: CURSOR_PATTERN },
          },
        ],
        responses: {
          200: json('A page of orders.', ref('OrderList')),
          422: json(
            'A query parameter breaks a rule, or holds a control or format character (`loc`: `["query", "<parameter>"]`); ' +
              'a cursor that was altered, forged, or issued for other filters.',
            ref('ValidationError'),
          ),
          500: internalErrorResponse,
        },
      },
      options: optionsOperation('ordersOptions', '/orders'),
    },
    '/orders/{id}': {
      parameters: [orderIdParameter],
      get: {
        operationId: 'getOrder',
        tags: ['orders'],
        summary: 'Get an order',
        description: 'The order with its current status and the statuses it took (`events`).',
        responses: {
          200: json('The order, with `events`.', { allOf: [ref('Order'), { type: 'object', required: ['events'] }] }),
          404: json('No order has this id.', ref('Message')),
          422: json('The id is not a UUID (`loc`: `["path", "id"]`).', ref('ValidationError')),
          500: internalErrorResponse,
        },
      },
      delete: {
        operationId: 'cancelOrder',
        tags: ['orders'],
        summary: 'Cancel an order',
        description:
          'Cancels an order that the exchange has not accepted yet; it will then never be placed. The cancel is first ' +
          "recorded in the order's workflow (durable from then on), then the answer waits for the workflow's decision, at most " +
          '`CANCEL_BUDGET_MS` (5 s by default): 200 if the cancel won, 409 if the order was placed first or is final otherwise, ' +
          '202 if the decision was not made in time (it follows; read it with `GET /orders/{id}`).',
        responses: {
          200: json('Cancelled: the order, status `cancelled`, with `events`.', {
            allOf: [ref('Order'), { type: 'object', properties: { status: { const: 'cancelled' } }, required: ['events'] }],
          }),
          202: json('The cancel is recorded and will be decided: the order as it stands now (not final yet), with `events`.', {
            allOf: [ref('Order'), { type: 'object', required: ['events'] }],
          }),
          404: json('No order has this id.', ref('Message')),
          409: json(
            'The order can no longer be cancelled: it reached the exchange (`placed`) or will never be placed; `status` is its status now.',
            ref('CancelConflict'),
          ),
          422: json('The id is not a UUID (`loc`: `["path", "id"]`).', ref('ValidationError')),
          500: json(
            `The cancel could not be recorded. Exactly \`${JSON.stringify(CANCEL_INTERNAL_ERROR_BODY)}\`; nothing internal leaks.`,
            ref('CancelInternalError'),
          ),
        },
      },
      options: optionsOperation('orderOptions', '/orders/{id}'),
    },
    '/health/live': {
      get: {
        operationId: 'live',
        tags: ['health'],
        summary: 'Liveness',
        description: 'The process answers. Says nothing about PostgreSQL or Temporal.',
        responses: { 200: json('Alive.', ref('Liveness')) },
      },
    },
    '/health/ready': {
      get: {
        operationId: 'ready',
        tags: ['health'],
        summary: 'Readiness',
        description: 'PostgreSQL reachable with every migration applied, and Temporal reachable. Turns 503 at once on SIGTERM.',
        responses: {
          200: json('Ready to take traffic.', ref('Readiness')),
          503: json('Not ready: a check failed, or the process is shutting down.', ref('Readiness')),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        tags: ['health'],
        summary: 'Prometheus metrics',
        description: 'Request counts and latencies by route and status, orders created, 500s by cause, and process metrics.',
        responses: {
          200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
    },
  };
}
