import type { Session } from 'better-sse';
import type { Logger } from '../config/logger.js';
import { comparePositions, type StreamPosition, type StreamScope } from '../prisma/order-stream.js';
import type { StreamEvent } from './event-frames.js';
import type { StreamConnection } from './stream-connection.js';

/** A client of the live tail: it has been sent every event of its scope up to the ring's end. */
export interface LiveClient {
  session: Session;
  connection: StreamConnection;
  scope: StreamScope;
  /**
   * Set while the client's Last-Event-ID is ahead of this process's poller (it came from another
   * API process whose poller had read further): events up to it are not sent again.
   */
  skipThrough?: StreamPosition;
}

function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** One order of one account: an order-scoped client sees it only if the order is its account's. */
const orderKey = (accountId: string, orderId: string) => `${accountId}/${orderId}`;

/**
 * The live clients, by what they see: an account's clients, an account's order's clients. Each
 * poll's events are grouped by account (and by order, where some client follows one), each
 * group's frames joined into one chunk, and that chunk written to each of the group's clients:
 * a poll costs its events plus the clients it reaches, whatever the number of other clients.
 */
export class LiveClients {
  private readonly byAccount = new Map<string, Set<LiveClient>>();
  private readonly byOrder = new Map<string, Set<LiveClient>>();

  constructor(
    private readonly clientBufferBytes: number,
    private readonly logger: Logger,
  ) {}

  private setOf(client: LiveClient): [Map<string, Set<LiveClient>>, string] {
    const { accountId, orderId } = client.scope;
    return orderId === null ? [this.byAccount, accountId] : [this.byOrder, orderKey(accountId, orderId)];
  }

  add(client: LiveClient): void {
    const [map, key] = this.setOf(client);
    let clients = map.get(key);
    if (!clients) {
      clients = new Set();
      map.set(key, clients);
    }
    clients.add(client);
  }

  delete(client: LiveClient): void {
    const [map, key] = this.setOf(client);
    const clients = map.get(key);
    if (!clients?.delete(client)) return;
    if (clients.size === 0) map.delete(key);
  }

  /** Sends the poller's next events (all after every live client's last) to the clients that see them. */
  deliver(events: StreamEvent[]): void {
    const forAccount = new Map<string, StreamEvent[]>();
    const forOrder = new Map<string, StreamEvent[]>();
    const followedOrders = this.byOrder.size > 0;
    for (const event of events) {
      if (this.byAccount.has(event.accountId)) addTo(forAccount, event.accountId, event);
      if (followedOrders) {
        const key = orderKey(event.accountId, event.orderId);
        if (this.byOrder.has(key)) addTo(forOrder, key, event);
      }
    }
    for (const [accountId, group] of forAccount) this.send(this.byAccount.get(accountId)!, group);
    for (const [key, group] of forOrder) this.send(this.byOrder.get(key)!, group);
  }

  private send(clients: Set<LiveClient>, events: StreamEvent[]): void {
    // The same bytes for every client of the group: one copy in memory however many sockets queue it.
    const chunk = Buffer.from(events.map((event) => event.frame).join(''));
    const last = events.at(-1)!.position;
    for (const client of clients) {
      if (!client.session.isConnected) continue;
      if (client.skipThrough === undefined) client.connection.write(chunk);
      else {
        const through = client.skipThrough;
        if (comparePositions(last, through) <= 0) continue;
        client.skipThrough = undefined; // every later event is after it
        client.connection.write(
          events
            .filter((event) => comparePositions(event.position, through) > 0)
            .map((event) => event.frame)
            .join(''),
        );
      }
      if (client.connection.unsent > this.clientBufferBytes) {
        // A client that does not keep up: cut, before its backlog grows without bound. It
        // reconnects with its Last-Event-ID and catches up at its own pace.
        this.logger.info({ unsentBytes: client.connection.unsent }, 'event stream client too slow: disconnected');
        client.connection.cut();
      }
    }
  }
}
