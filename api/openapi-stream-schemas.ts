import { z } from 'zod';
import { STREAM_EVENT_KINDS, type StreamEventKind } from './event-frames.js';
import { dateTime, execution, order } from './openapi-order-schemas.js';
import { position } from './openapi-position-schemas.js';

// A fill in GET /events: the fields of an Execution (GET /orders/{id}/executions) a client follows an order by.
export const streamExecution = execution
  .pick({ exec_id: true, exec_type: true, quantity: true, price: true, cum_quantity: true, leaves_quantity: true, venue_time: true })
  .meta({ description: "A fill's execution, as `GET /orders/{id}/executions` shows it (these of its fields)." });

export const orderStreamEvent = z
  .strictObject({
    order_id: z.uuid(),
    kind: z.enum(Object.keys(STREAM_EVENT_KINDS) as [StreamEventKind, ...StreamEventKind[]]).meta({
      description: `${Object.entries(STREAM_EVENT_KINDS)
        .map(([kind, meaning]) => `\`${kind}\`: ${meaning}`)
        .join('; ')}. Also the SSE \`event\` field.`,
    }),
    at: dateTime().meta({ description: 'When the event was recorded.' }),
    // The order as it stood right after the event, as `GET /orders/{id}` shows it (without `events`).
    order,
    execution: streamExecution.nullable().meta({
      description:
        "The venue's execution: the fill, for `kind: fill`; the trigger (`price`: the price that reached the stop), for `kind: triggered`; null for `status`.",
    }),
    position: position
      .nullable()
      .optional()
      .meta({
        description:
          "`kind: fill` only: the account's position in the order's instrument right after the fill (or bust), as " +
          '`GET /positions/{instrument}` shows it; null on fills recorded before positions existed.',
      }),
  })
  .meta({
    description:
      'The `data` of one `GET /events` event (JSON): the order (`order`) as it stood right after the event, as ' +
      '`GET /orders/{id}` shows it (without `events`), and for a fill its execution.',
  });
