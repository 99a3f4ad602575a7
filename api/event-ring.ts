import { comparePositions, type StreamPosition, type StreamScope } from '../prisma/order-stream.js';
import type { StreamEvent } from './event-frames.js';

/** Events in stream order, dropped from the front in O(1): an array and the index of its first. */
class EventQueue {
  private items: StreamEvent[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(event: StreamEvent): void {
    this.items.push(event);
  }

  shift(): StreamEvent | undefined {
    if (this.head === this.items.length) return undefined;
    const event = this.items[this.head++];
    // Copied down once the dropped half is the larger: amortised O(1) a drop.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return event;
  }

  /** Up to `limit` events after `position`, oldest first (found by binary search). */
  after(position: StreamPosition, limit: number, keep: (event: StreamEvent) => boolean): StreamEvent[] {
    let low = this.head;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (comparePositions(this.items[middle]!.position, position) <= 0) low = middle + 1;
      else high = middle;
    }
    const found: StreamEvent[] = [];
    for (let i = low; i < this.items.length && found.length < limit; i++) {
      if (keep(this.items[i]!)) found.push(this.items[i]!);
    }
    return found;
  }
}

const everyEvent = () => true;

/**
 * The last `capacity` events the poller read, kept for clients that join or come back: every
 * event after `coveredFrom` up to `end` is here, indexed by account, so a client finds its own
 * in time that grows with them, not with the ring.
 */
export class EventRing {
  private readonly all = new EventQueue();
  private readonly byAccount = new Map<string, EventQueue>();
  private covered: StreamPosition;
  private last: StreamPosition;

  constructor(
    private readonly capacity: number,
    start: StreamPosition,
  ) {
    this.covered = start;
    this.last = start;
  }

  /** The ring holds every event after this position. */
  get coveredFrom(): StreamPosition {
    return this.covered;
  }

  /** The last position the poller read: the ring holds every event up to it. */
  get end(): StreamPosition {
    return this.last;
  }

  /** Adds the poller's next events (in stream order, after `end`), dropping the oldest beyond capacity. */
  append(events: StreamEvent[]): void {
    for (const event of events) {
      this.all.push(event);
      let account = this.byAccount.get(event.accountId);
      if (!account) {
        account = new EventQueue();
        this.byAccount.set(event.accountId, account);
      }
      account.push(event);
    }
    if (events.length > 0) this.last = events.at(-1)!.position;
    while (this.all.length > this.capacity) {
      const dropped = this.all.shift()!;
      this.covered = dropped.position;
      // The account's oldest event is the ring's oldest of that account: this one.
      const account = this.byAccount.get(dropped.accountId)!;
      account.shift();
      if (account.length === 0) this.byAccount.delete(dropped.accountId);
    }
  }

  /** Up to `limit` events in the scope after `after` (at or past coveredFrom), oldest first. */
  after(after: StreamPosition, scope: StreamScope, limit: number): StreamEvent[] {
    const account = this.byAccount.get(scope.accountId);
    if (!account) return [];
    const orderId = scope.orderId;
    return account.after(after, limit, orderId === null ? everyEvent : (event) => event.orderId === orderId);
  }
}
