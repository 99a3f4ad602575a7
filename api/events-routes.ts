import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { StreamPosition } from '../prisma/order-stream.js';
import { callerOf } from './caller.js';
import { InvalidLastEventIdError, RequestValidationError, type ValidationDetail } from './errors.js';
import { parseEventId } from './event-frames.js';
import type { EventHub, EventScope } from './event-stream.js';

export interface EventsRouteDeps {
  events: EventHub;
}

export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';
const PARAMETERS = ['order_id', 'last_event_id'];
const uuid = z.uuid();

/** The events this request may see: its account's, and with `order_id` only that order's. */
export function eventScopeFor(ctx: Context): EventScope {
  const details: ValidationDetail[] = [];
  for (const name of Object.keys(ctx.query)) {
    if (!PARAMETERS.includes(name)) details.push({ loc: ['query', name], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' });
  }
  let orderId: string | null = null;
  const given = ctx.query.order_id;
  if (Array.isArray(given)) details.push({ loc: ['query', 'order_id'], msg: 'Parameter should be given once', type: 'value_error' });
  else if (given !== undefined) {
    if (uuid.safeParse(given).success) orderId = given.toLowerCase();
    else details.push({ loc: ['query', 'order_id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' });
  }
  if (details.length > 0) throw new RequestValidationError(details);
  return { accountId: callerOf(ctx).accountId, orderId };
}

/**
 * Where the client resumes: the `Last-Event-ID` header (what EventSource sends when it
 * reconnects) before `last_event_id` (for clients that cannot set a header; an EventSource keeps
 * the URL it started with, so the header must win); none: from now on. Each one given must be an
 * event id, the one that does not win too (a malformed `last_event_id` was ignored beside a header).
 */
function resumeFrom(ctx: Context): StreamPosition | undefined {
  const header = ctx.headers[LAST_EVENT_ID_HEADER.toLowerCase()];
  const query = ctx.query.last_event_id;
  // The header's value comes without its surrounding spaces (HTTP's, stripped by Node); the query's is taken as it is.
  const fromHeader = header === undefined ? undefined : eventIdOrRefuse(`${LAST_EVENT_ID_HEADER} header`, header);
  const fromQuery = query === undefined ? undefined : eventIdOrRefuse('last_event_id', query);
  return fromHeader ?? fromQuery;
}

function eventIdOrRefuse(source: string, text: string | string[]): StreamPosition {
  const position = typeof text === 'string' ? parseEventId(text) : undefined;
  if (position === undefined) throw new InvalidLastEventIdError(source);
  return position;
}

export function eventsRouter(deps: EventsRouteDeps): Router {
  const router = new Router();
  router.get('/events', async (ctx) => {
    const scope = eventScopeFor(ctx);
    const after = resumeFrom(ctx);
    if (ctx.method === 'HEAD') {
      ctx.status = 200;
      ctx.type = 'text/event-stream';
      return;
    }
    // Set before the stream's head goes out (the logs and metrics read it); an error still answers its own.
    ctx.status = 200;
    await deps.events.serve(ctx.req, ctx.res, scope, after);
    // The hub writes the stream from here on: Koa must not answer.
    ctx.respond = false;
  });
  return router;
}
