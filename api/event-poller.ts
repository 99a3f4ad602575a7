import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../config/logger.js';
import type { OrderStreamQuery, StreamPosition } from '../prisma/order-stream.js';
import { type StreamEvent, toStreamEvent } from './event-frames.js';

export interface PollerOptions {
  stream: Pick<OrderStreamQuery, 'tail' | 'after'>;
  pollIntervalMs: number;
  /** Rows a poll reads at most; a full page is followed by the next at once. */
  pageRows: number;
  retryAfterFailureMs: number;
  logger: Logger;
  /** The stream's end when the poller started: what it reads next comes after it. */
  onStart(position: StreamPosition): void;
  /** Each poll's new events, rendered, in stream order. */
  onEvents(events: StreamEvent[]): void;
}

export interface Poller {
  /** Resolves once onStart has been called. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The one reader of the live tail in an API process: every `pollIntervalMs`, the finished rows
 * after the last it read, of every account, in one query; each rendered once into its frame. A
 * failed read is tried again (from the same place) after `retryAfterFailureMs`.
 */
export function startPoller(options: PollerOptions): Poller {
  const stopping = new AbortController();
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const run = async () => {
    let cursor: StreamPosition | undefined;
    while (!stopping.signal.aborted) {
      try {
        if (cursor === undefined) {
          cursor = await options.stream.tail();
          options.onStart(cursor);
          markReady();
        }
        const rows = await options.stream.after(cursor, options.pageRows);
        if (stopping.signal.aborted) return;
        if (rows.length > 0) {
          const events = rows.map(toStreamEvent);
          cursor = rows.at(-1)!.position;
          options.onEvents(events);
        }
        // A full page: more is waiting, read it at once.
        if (rows.length === options.pageRows) continue;
        await sleep(options.pollIntervalMs, undefined, { signal: stopping.signal });
      } catch (error) {
        if (stopping.signal.aborted) return;
        options.logger.warn({ err: error }, 'reading the order event stream failed; retrying');
        await sleep(options.retryAfterFailureMs, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  };
  const running = run().catch(() => {});

  return {
    ready,
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
