import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBuffer, NodeHttp1Connection, Session } from 'better-sse';
import { LosslessNumber, stringify } from 'lossless-json';
import type { Logger } from '../config/logger.js';
import { DEMO_ACCOUNT_ID } from '../domain/accounts.js';
import {
  comparePositions,
  laterPosition,
  type OrderStreamQuery,
  STREAM_START,
  type StreamPosition,
  type StreamRow,
} from '../prisma/order-stream.js';
import { StreamUnavailableError } from './errors.js';
import { orderJson } from './order-response.js';

// GET /events: one poller per API process reads the order stream (prisma/order-stream.ts) into a
// bounded ring of ready-made SSE frames; every client is served from it, so the database sees one
// query per poll whatever the number of clients. A client that comes back with a Last-Event-ID
// older than the ring gets its catch-up from the database (its own queries, a page at a time),
// then the ring, then the live tail: nothing twice, in order.

/**
 * An event's SSE id: the stream position (tx, id) as the one decimal integer tx·10^13 + id.
 * It increases with the position while a row id stays below 10^13 (ten trillion events). It
 * outgrows a JavaScript number: clients keep it as the string it is (EventSource does).
 */
const ID_SCALE = 10n ** 13n;
const EVENT_ID_PATTERN = /^\d{1,32}$/;

export function eventIdOf(position: StreamPosition): string {
  return (position.tx * ID_SCALE + position.id).toString();
}

/** The position an SSE id names, or undefined if it is not one. */
export function parseEventId(text: string): StreamPosition | undefined {
  if (!EVENT_ID_PATTERN.test(text)) return undefined;
  const value = BigInt(text);
  return { tx: value / ID_SCALE, id: value % ID_SCALE };
}

/**
 * Which events a client sees: a function of its request (api/events-routes.ts `eventScopeFor`):
 * its account's, and only one order's with GET /events' `order_id`; in both the in-memory match
 * and the catch-up query.
 */
export interface EventScope {
  accountId: string;
  orderId: string | null;
}

function inScope(scope: EventScope, event: StreamEvent): boolean {
  return event.accountId === scope.accountId && (scope.orderId === null || event.orderId === scope.orderId);
}

/** One event, rendered once for every client. */
interface StreamEvent {
  position: StreamPosition;
  orderId: string;
  accountId: string;
  frame: string;
}

/** A fill's execution report (the venue's names) as a client gets it: Execution's names, exact price. */
function executionJson(kind: string, report: unknown): string {
  if (kind !== 'fill' || typeof report !== 'object' || report === null) return 'null';
  const field = (name: string) => (report as Record<string, unknown>)[name] ?? null;
  const price = field('last_px');
  return stringify({
    exec_id: field('exec_id'),
    exec_type: field('exec_type'),
    quantity: field('last_qty'),
    price: typeof price === 'string' ? new LosslessNumber(price) : null,
    cum_quantity: field('cum_qty'),
    leaves_quantity: field('leaves_qty'),
    venue_time: field('transact_time'),
  }) as string;
}

// The data is JSON already (orderJson keeps its decimals exact): written as it is.
const frameWriter = () => new EventBuffer({ serializer: (data) => data as string });

function toStreamEvent(row: StreamRow): StreamEvent {
  const data =
    `{"order_id":${JSON.stringify(row.orderId)},"kind":${JSON.stringify(row.kind)},"at":${JSON.stringify(row.at.toISOString())},` +
    `"order":${orderJson(row.order)},"execution":${executionJson(row.kind, row.execution)}}`;
  const frame = frameWriter().id(eventIdOf(row.position)).event(row.kind).data(data).dispatch().read();
  // Rows stored before accounts existed have no account: the demo account's, as their orders are.
  return { position: row.position, orderId: row.orderId, accountId: row.order.accountId ?? DEMO_ACCOUNT_ID, frame };
}

/** better-sse's Node connection, also taking the shared byte chunks and telling how much is unsent. */
class StreamConnection extends NodeHttp1Connection {
  /** The last write went over the socket's high-water mark: 'drain' follows. */
  private full = false;

  constructor(
    req: IncomingMessage,
    private readonly out: ServerResponse,
  ) {
    super(req, out, { statusCode: 200 });
  }

  write(chunk: Buffer | string): void {
    this.full = !this.out.write(chunk);
  }

  /** Bytes written but not yet taken by the client. */
  get unsent(): number {
    return this.out.writableLength;
  }

  get gone(): boolean {
    return this.out.destroyed || this.out.writableEnded;
  }

  /** Resolves once the client has taken what was written (or is gone). */
  async drained(): Promise<void> {
    if (!this.full || this.gone) return;
    const stop = new AbortController();
    await Promise.race([once(this.out, 'drain', { signal: stop.signal }), once(this.out, 'close', { signal: stop.signal })]).catch(
      () => {},
    );
    stop.abort();
  }

  end(): void {
    this.out.end();
  }

  cut(): void {
    this.out.destroy();
  }
}

interface StreamClient {
  session: Session;
  connection: StreamConnection;
  scope: EventScope;
  /** The last position this client was sent (or skipped past: out of its scope). */
  lastSent: StreamPosition;
  /** False while its catch-up runs: the live fan-out passes it by. */
  live: boolean;
}

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

/** Rows a poll or a catch-up page reads at most. */
const PAGE_ROWS = 5000;
/** How long a first client waits for the poller's first read of the stream's end. */
const READY_TIMEOUT_MS = 10_000;
const RETRY_AFTER_FAILURE_MS = 1000;

export function createEventHub(stream: OrderStreamQuery, settings: EventHubSettings, logger: Logger): EventHub {
  const clients = new Set<StreamClient>();
  const stopping = new AbortController();
  // The ring holds every event after `coveredFrom`, up to `cursor` (the poller's last row).
  let ring: StreamEvent[] = [];
  let coveredFrom: StreamPosition | undefined;
  let cursor: StreamPosition = STREAM_START;
  let closed = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const send = (client: StreamClient, chunk: Buffer | string, last: StreamPosition) => {
    if (!client.session.isConnected) return;
    client.connection.write(chunk);
    client.lastSent = last;
  };

  /** Ring events after `after` in the client's scope, as one chunk. */
  const ringAfter = (after: StreamPosition, scope: EventScope): string => {
    let low = 0;
    let high = ring.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (comparePositions(ring[middle]!.position, after) <= 0) low = middle + 1;
      else high = middle;
    }
    let chunk = '';
    for (let i = low; i < ring.length; i++) if (inScope(scope, ring[i]!)) chunk += ring[i]!.frame;
    return chunk;
  };

  const fanOut = (events: StreamEvent[]) => {
    const first = events[0]!.position;
    const last = events.at(-1)!.position;
    // Per account, the same bytes for every client that takes all of its events: one copy in
    // memory however many sockets queue it.
    const shared = new Map<string, Buffer>();
    const sharedFor = (accountId: string) => {
      let chunk = shared.get(accountId);
      if (!chunk) {
        chunk = Buffer.from(
          events
            .filter((event) => event.accountId === accountId)
            .map((event) => event.frame)
            .join(''),
        );
        shared.set(accountId, chunk);
      }
      return chunk;
    };
    for (const client of clients) {
      if (!client.live || comparePositions(client.lastSent, last) >= 0) continue;
      if (client.scope.orderId === null && comparePositions(client.lastSent, first) < 0) {
        const chunk = sharedFor(client.scope.accountId);
        if (chunk.length === 0) client.lastSent = last;
        else send(client, chunk, last);
      } else {
        let chunk = '';
        for (const event of events) {
          if (comparePositions(event.position, client.lastSent) > 0 && inScope(client.scope, event)) chunk += event.frame;
        }
        if (chunk === '') client.lastSent = last;
        else send(client, chunk, last);
      }
      if (client.connection.unsent > settings.clientBufferBytes) {
        // A client that does not keep up: cut, before its backlog grows without bound. It
        // reconnects with its Last-Event-ID and catches up at its own pace.
        logger.info({ unsentBytes: client.connection.unsent }, 'event stream client too slow: disconnected');
        client.connection.cut();
      }
    }
  };

  const append = (rows: StreamRow[]) => {
    const events = rows.map(toStreamEvent);
    ring.push(...events);
    if (ring.length > settings.ringSize) {
      const dropped = ring.length - settings.ringSize;
      coveredFrom = ring[dropped - 1]!.position;
      ring = ring.slice(dropped);
    }
    cursor = events.at(-1)!.position;
    fanOut(events);
  };

  const poll = async () => {
    while (!closed) {
      try {
        if (coveredFrom === undefined) {
          cursor = await stream.tail();
          coveredFrom = cursor;
          markReady();
        }
        const rows = await stream.after(cursor, PAGE_ROWS);
        if (rows.length > 0 && !closed) append(rows);
        // A full page: more is waiting, read it at once.
        if (rows.length === PAGE_ROWS) continue;
        await sleep(settings.pollIntervalMs, undefined, { signal: stopping.signal });
      } catch (error) {
        if (closed) return;
        logger.warn({ err: error }, 'reading the order event stream failed; retrying');
        await sleep(RETRY_AFTER_FAILURE_MS, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  };
  const polling = poll().catch(() => {});

  /**
   * Brings a client from `after` to the live tail: database pages while the ring lacks them,
   * then what the ring has beyond, each sent once the client took the one before; live once
   * nothing is left, in the same step as the last look at the ring (no event falls between).
   */
  const catchUp = async (client: StreamClient, after: StreamPosition) => {
    let position = after;
    for (;;) {
      if (!client.session.isConnected || client.connection.gone) return;
      if (comparePositions(position, coveredFrom!) < 0) {
        // Captured before the read: every row up to it is finished, so a short page has all of them.
        const covered = coveredFrom!;
        const rows = await stream.after(position, PAGE_ROWS, client.scope);
        if (rows.length > 0) {
          position = rows.at(-1)!.position;
          send(client, rows.map((row) => toStreamEvent(row).frame).join(''), position);
        }
        if (rows.length < PAGE_ROWS) position = laterPosition(position, covered);
      } else {
        const chunk = ringAfter(position, client.scope);
        position = laterPosition(position, cursor);
        if (chunk === '') {
          client.lastSent = position;
          client.live = true;
          return;
        }
        send(client, chunk, position);
      }
      await client.connection.drained();
    }
  };

  return {
    get clients() {
      return clients.size;
    },

    async serve(req, res, scope, after) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
      });
      const started = await Promise.race([ready.then(() => 'ready' as const), timedOut]);
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
      const from = after ?? cursor;
      const client: StreamClient = { session, connection, scope, lastSent: from, live: false };
      clients.add(client);
      session.once('disconnected', () => clients.delete(client));
      await once(session, 'connected');
      // Gone before the stream opened: its close came before anyone listened for it.
      if (connection.gone || req.destroyed) {
        clients.delete(client);
        return;
      }
      catchUp(client, from).catch((error: unknown) => {
        logger.warn({ err: error }, 'event stream catch-up failed: disconnecting the client');
        connection.cut();
      });
    },

    async close() {
      closed = true;
      stopping.abort();
      await polling;
      for (const client of clients) client.connection.end();
    },
  };
}
