import PQueue from 'p-queue';
import { comparePositions, laterPosition, type StreamPosition, type StreamRow, type StreamScope } from '../prisma/order-stream.js';
import type { LiveClient } from './event-fan-out.js';
import { toStreamEvent } from './event-frames.js';
import type { EventRing } from './event-ring.js';

export interface CatchUpOptions {
  /** A page of the scope's finished rows after a position, from the database (its index by account, or by order). */
  read(scope: StreamScope, after: StreamPosition, limit: number): Promise<StreamRow[]>;
  ring(): EventRing;
  /** Database pages read at once in this process; the others wait their turn, in arrival order. */
  concurrency: number;
  /** Events sent at most before the client must have taken them (a database page, or a run of the ring). */
  pageRows: number;
}

export interface CatchUp {
  /**
   * Brings a client from `after` to the live tail: database pages while the ring lacks them, then
   * what the ring has beyond, each sent once the client took the one before; then `goLive(at)`,
   * in the same step as the last look at the ring (no event falls between): from then on the
   * live fan-out sends it every event after `at`. Returns early, not live, if the client goes.
   */
  run(client: LiveClient, after: StreamPosition, goLive: (at: StreamPosition) => void): Promise<void>;
}

/**
 * Catch-ups never hold up the live tail: the poller reads on its own, and the ring and its
 * clients move on while a catch-up waits. Their database reads take turns, a page each in
 * arrival order, `concurrency` at a time: one client far behind cannot keep the others (or the
 * poller, which has a connection of its own) from the database, and a crowd of reconnecting
 * clients costs the database at most `concurrency` queries at a time.
 */
export function createCatchUp(options: CatchUpOptions): CatchUp {
  const pages = new PQueue({ concurrency: options.concurrency });
  const gone = (client: LiveClient) => !client.session.isConnected || client.connection.gone;

  return {
    async run(client, after, goLive) {
      let position = after;
      for (;;) {
        if (gone(client)) return;
        const ring = options.ring();
        if (comparePositions(position, ring.coveredFrom) < 0) {
          // Captured before the read: every row up to it is finished, so a short page has all of them.
          const covered = ring.coveredFrom;
          const from = position;
          const rows = await pages.add(async () => (gone(client) ? undefined : options.read(client.scope, from, options.pageRows)));
          if (rows === undefined || gone(client)) return;
          if (rows.length > 0) {
            position = rows.at(-1)!.position;
            client.connection.write(rows.map((row) => toStreamEvent(row).frame).join(''));
          }
          if (rows.length < options.pageRows) position = laterPosition(position, covered);
        } else {
          const events = ring.after(position, client.scope, options.pageRows);
          if (events.length === 0) {
            goLive(laterPosition(position, ring.end));
            return;
          }
          client.connection.write(events.map((event) => event.frame).join(''));
          position = events.length < options.pageRows ? ring.end : events.at(-1)!.position;
        }
        await client.connection.drained();
      }
    },
  };
}
