import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { STREAM_EVENT_KINDS, type StreamEventKind } from './event-frames.js';
import { LAST_EVENT_ID_HEADER } from './events-routes.js';
import { internalErrorResponse, json, optionalParameter } from './openapi-helpers.js';
import { responseSchemas as schemas } from './openapi-schemas.js';

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

/** /events: the stream of order events (Server-Sent Events). */
export function eventsPaths(): ZodOpenApiPathsObject {
  return {
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
  };
}
