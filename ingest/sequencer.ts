/**
 * Keeps one session's reports in sequence order (docs/executions.md, "Ingestion"): a seq below
 * the expected one is a duplicate (already taken), the expected one goes out with whatever the
 * buffer holds after it, one above is held and its gap asked for once (again after a timeout
 * if it is still open). Pure: the caller sends the resend requests it returns.
 */
export interface Gap {
  from: number;
  to: number;
}

export type Offer<T> =
  | { kind: 'deliver'; items: T[]; gap: null }
  | { kind: 'duplicate'; gap: null }
  | { kind: 'held'; gap: Gap | null }
  | { kind: 'overflow'; gap: null };

export class Sequencer<T> {
  private readonly buffer = new Map<number, T>();
  /** The highest seq a resend was asked up to, and when (0: none outstanding). */
  private requestedTo = 0;
  private requestedAt = 0;
  /** The venue's next seq as its last heartbeat said: everything below it exists. */
  private venueNext = 0;
  /** The highest seq held in the buffer (it is only ever cleared from below). */
  private highestHeld = 0;

  constructor(
    public expected: number,
    private readonly maxBuffered: number,
    private readonly resendTimeoutMs: number,
  ) {}

  get buffered(): number {
    return this.buffer.size;
  }

  offer(seq: number, item: T, now = Date.now()): Offer<T> {
    if (seq < this.expected) return { kind: 'duplicate', gap: null };
    if (seq > this.expected) {
      if (this.buffer.size >= this.maxBuffered && !this.buffer.has(seq)) return { kind: 'overflow', gap: null };
      this.buffer.set(seq, item);
      this.highestHeld = Math.max(this.highestHeld, seq);
      return { kind: 'held', gap: this.ask(seq - 1, now) };
    }
    const items = [item];
    this.expected += 1;
    for (let next = this.buffer.get(this.expected); next !== undefined; next = this.buffer.get(this.expected)) {
      this.buffer.delete(this.expected);
      items.push(next);
      this.expected += 1;
    }
    if (this.expected > this.requestedTo) this.requestedTo = 0;
    return { kind: 'deliver', items, gap: null };
  }

  /** A heartbeat: the venue has made every seq below `nextSeq`. */
  heartbeat(nextSeq: number, now = Date.now()): Gap | null {
    this.venueNext = Math.max(this.venueNext, nextSeq);
    return nextSeq > this.expected ? this.ask(nextSeq - 1, now) : null;
  }

  /** Asks again for a gap whose resend did not come in time. */
  tick(now = Date.now()): Gap | null {
    if (this.requestedTo === 0 || now - this.requestedAt < this.resendTimeoutMs) return null;
    const known = Math.max(this.venueNext - 1, this.buffer.size > 0 ? this.highestHeld : 0);
    if (known < this.expected) {
      this.requestedTo = 0;
      return null;
    }
    this.requestedTo = 0;
    return this.ask(known, now);
  }

  private ask(upTo: number, now: number): Gap | null {
    if (upTo < this.expected || upTo <= this.requestedTo) return null;
    const from = Math.max(this.expected, this.requestedTo + 1);
    this.requestedTo = upTo;
    this.requestedAt = now;
    return { from, to: upTo };
  }
}
