import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Session } from 'better-sse';
import type { Logger } from '../config/logger.js';
import { comparePositions, type OrderStreamQuery, type StreamPosition, type StreamScope } from '../prisma/order-stream.js';
import { StreamUnavailableError } from './errors.js';
import { createCatchUp } from './event-catch-up.js';
import { type LiveClient, LiveClients } from './event-fan-out.js';
import { startPoller } from './event-poller.js';
import { EventRing } from './event-ring.js';
import { StreamConnection } from './stream-connection.js';

// GET /events, put together from parts with one job each:
//   the poller (api/event-poller.ts)   one per API process: reads the order stream's new rows
//                                      (prisma/order-stream.ts), of every account, in one query
//                                      a poll, and renders each event's frame once
//                                      (api/event-frames.ts);
//   the ring (api/event-ring.ts)       keeps the last SSE_RING_SIZE of them, by account;
//   the live clients                   each poll's events, grouped by account (and order), to
//     (api/event-fan-out.ts)           the clients that see them;
//   the catch-up (api/event-catch-up.ts) brings a client that comes with a Last-Event-ID to the
//                                      live tail: the database by its account's index while the
//                                      ring lacks its events, pages taking turns, then the ring.

/**
 * Which events a client sees: a function of its request (api/events-routes.ts `eventScopeFor`):
 * its account's, and only one order's with GET /events' `order_id`; in the live fan-out, the
 * ring and the catch-up query alike.
 */
export type EventScope = StreamScope;

export interface EventHubSettings {
  pollIntervalMs: number;
  ringSize: number;
  maxClients: number;
  clientBufferBytes: number;
  heartbeatMs: number;
}

export interface EventHub {
  /**
   * Serves one client: checks capacity (503 beyond it or while closing), then takes over the
   * response (the caller must not answer) and streams from `after` (a Last-Event-ID), or from now.
   */
  serve(req: IncomingMessage, res: ServerResponse, scope: EventScope, after: StreamPosition | undefined): Promise<void>;
  readonly clients: number;
  /** Stops the poller and ends every open stream (their clients reconnect elsewhere with Last-Event-ID). */
  close(): Promise<void>;
}

/** Rows a poll reads at most. */
const POLL_ROWS = 5000;
/** Events a catch-up sends at a time: a database page, or a run of the ring. */
const CATCH_UP_ROWS = 1000;
/** Catch-up pages read from the database at once per API process. */
const CATCH_UP_CONCURRENCY = 2;
/** The connections the stream's reads need: the poller's and the catch-ups'. */
export const EVENT_STREAM_CONNECTIONS = 1 + CATCH_UP_CONCURRENCY;
/** How long a first client waits for the poller's first read of the stream's end. */
const READY_TIMEOUT_MS = 10_000;
const RETRY_AFTER_FAILURE_MS = 1000;

/** `stream` should read through connections of its own (EVENT_STREAM_CONNECTIONS): requests' queries never wait for it, nor it for them. */
export function createEventHub(stream: OrderStreamQuery, settings: EventHubSettings, logger: Logger): EventHub {
  const clients = new Set<LiveClient>();
  const live = new LiveClients(settings.clientBufferBytes, logger);
  let ring: EventRing | undefined;
  let closed = false;
  const startedRing = () => {
    if (!ring) throw new Error('the event ring is read before the poller started');
    return ring;
  };

  const poller = startPoller({
    stream,
    pollIntervalMs: settings.pollIntervalMs,
    pageRows: POLL_ROWS,
    retryAfterFailureMs: RETRY_AFTER_FAILURE_MS,
    logger,
    onStart(position) {
      ring = new EventRing(settings.ringSize, position);
    },
    onEvents(events) {
      startedRing().append(events);
      live.deliver(events);
    },
  });
  const catchUp = createCatchUp({
    read: (scope, after, limit) => stream.afterInScope(scope, after, limit),
    ring: startedRing,
    concurrency: CATCH_UP_CONCURRENCY,
    pageRows: CATCH_UP_ROWS,
  });

  return {
    get clients() {
      return clients.size;
    },

    async serve(req, res, scope, after) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
      });
      const started = await Promise.race([poller.ready.then(() => 'ready' as const), timedOut]);
      clearTimeout(timer);
      if (closed) throw new StreamUnavailableError('The API is shutting down: reconnect to another instance');
      if (started === 'timeout') throw new Error('the order event stream could not be read');
      if (clients.size >= settings.maxClients) {
        throw new StreamUnavailableError(`Too many event stream clients (at most ${settings.maxClients}): retry later`);
      }

      // The headers the app set so far (X-Request-Id, Cache-Control: no-store, …) go with the stream's.
      const connection = new StreamConnection(req, res);
      const session = new Session(connection, { keepAlive: settings.heartbeatMs, trustClientEventId: false });
      // No Last-Event-ID: from the events after this moment on.
      const from = after ?? startedRing().end;
      const client: LiveClient = { session, connection, scope };
      clients.add(client);
      session.once('disconnected', () => {
        clients.delete(client);
        live.delete(client);
      });
      await once(session, 'connected');
      // Gone before the stream opened: its close came before anyone listened for it.
      if (connection.gone || req.destroyed) {
        clients.delete(client);
        return;
      }
      const goLive = (at: StreamPosition) => {
        // A Last-Event-ID this process's poller has not reached yet (read by another process's).
        if (comparePositions(at, startedRing().end) > 0) client.skipThrough = at;
        live.add(client);
      };
      catchUp.run(client, from, goLive).catch((error: unknown) => {
        logger.warn({ err: error }, 'event stream catch-up failed: disconnecting the client');
        connection.cut();
      });
    },

    async close() {
      closed = true;
      await poller.stop();
      for (const client of clients) client.connection.end();
    },
  };
}
