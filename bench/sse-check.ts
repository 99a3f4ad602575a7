// One bench stream's check, across its connections: the frames of GET /events as they come off
// the socket, each event's id and tag (bench/sse-shape.ts EventTag). Pure, so the client runner
// can run thousands of them and a unit test can feed it what a broken server would send.
import { type EventTag, parseExecId } from './sse-shape.js';

export interface Violations {
  /** An event of another account, another order (scoped streams), or not the bench's. */
  foreign: number;
  /** An id not above the one before it on the same connection (or the Last-Event-ID it came with). */
  outOfOrder: number;
  /** Events of the scope skipped between two received (the tag's number jumped). */
  missing: number;
  /** An event of the scope received again on the same connection, or before one already received after the Last-Event-ID. */
  repeated: number;
}

export const noViolations = (): Violations => ({ foreign: 0, outOfOrder: 0, missing: 0, repeated: 0 });

const EXEC_ID = '"exec_id":"';

/** SSE ids are decimal integers beyond a double's precision: compared as digit strings. */
export function idAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

export class StreamCheck {
  readonly violations = noViolations();
  /** The connection's last event id and that event's number in the scope (or where it resumed from). */
  lastId: string;
  lastSeq = 0;
  /** The highest number received on any connection: events above it are first-hand deliveries. */
  maxSeq = 0;
  /** Events received, repeats after a rewind included. */
  received = 0;
  /** The first few violations, described, for the run's log. */
  readonly notes: string[] = [];
  private pending = '';

  constructor(
    readonly account: number,
    readonly order: number | null,
    startId: string,
  ) {
    this.lastId = startId;
  }

  /** A new connection, with `id` (whose number in the scope is `seq`) as its Last-Event-ID. */
  resume(id: string, seq: number): void {
    this.lastId = id;
    this.lastSeq = seq;
    this.pending = '';
  }

  /** Text off the socket; `firstHand` is called with each event's tag the first time the stream gets it. */
  feed(text: string, firstHand: (tag: EventTag) => void): void {
    this.pending += text;
    let start = 0;
    for (let end = this.pending.indexOf('\n\n'); end !== -1; end = this.pending.indexOf('\n\n', start)) {
      this.frame(this.pending.slice(start, end), firstHand);
      start = end + 2;
    }
    this.pending = this.pending.slice(start);
  }

  private frame(frame: string, firstHand: (tag: EventTag) => void): void {
    // Heartbeat comments, the retry field: no id line.
    if (!frame.startsWith('id:')) return;
    const id = frame.slice(3, frame.indexOf('\n'));
    if (!idAfter(id, this.lastId)) this.note('outOfOrder', `id ${id} after ${this.lastId}`);
    this.lastId = id;
    const at = frame.indexOf(EXEC_ID);
    const tag = at === -1 ? undefined : parseExecId(frame.slice(at + EXEC_ID.length, frame.indexOf('"', at + EXEC_ID.length)));
    if (!tag || tag.account !== this.account || (this.order !== null && tag.order !== this.order)) {
      this.note('foreign', `id ${id}: ${frame.slice(0, 300)}`);
      return;
    }
    this.received++;
    const seq = this.order === null ? tag.accountSeq : tag.orderSeq;
    if (seq > this.lastSeq + 1) this.note('missing', `id ${id}: number ${seq} after ${this.lastSeq}`, seq - this.lastSeq - 1);
    else if (seq <= this.lastSeq) this.note('repeated', `id ${id}: number ${seq} after ${this.lastSeq}`);
    this.lastSeq = Math.max(this.lastSeq, seq);
    if (seq > this.maxSeq) {
      this.maxSeq = seq;
      firstHand(tag);
    }
  }

  private note(kind: keyof Violations, what: string, count = 1): void {
    this.violations[kind] += count;
    if (this.notes.length < 3) this.notes.push(`${kind}: ${what}`);
  }
}
