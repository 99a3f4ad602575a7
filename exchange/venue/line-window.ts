/**
 * The last `capacity` report lines by seq, in a ring: what live sessions and recent resends
 * read without touching the file. Its memory is bounded by the capacity, whatever the volume.
 */
export class LineWindow {
  private readonly lines: (string | undefined)[];
  /** The highest seq held; 0 when empty. */
  private high = 0;

  constructor(readonly capacity: number) {
    this.lines = new Array<string | undefined>(capacity).fill(undefined);
  }

  /** Holds the line of `seq`, the seq after the highest held (older lines drop out). */
  put(seq: number, line: string): void {
    this.lines[seq % this.capacity] = line;
    this.high = seq;
  }

  /** The lowest seq held (high + 1 when empty). */
  get low(): number {
    return Math.max(1, this.high - this.capacity + 1);
  }

  get size(): number {
    return this.high === 0 ? 0 : this.high - this.low + 1;
  }

  get(seq: number): string | undefined {
    return seq >= this.low && seq <= this.high ? this.lines[seq % this.capacity] : undefined;
  }

  /** The lines from..last, all held (from ≥ low, last ≤ high). */
  slice(from: number, last: number): string[] {
    const out: string[] = [];
    for (let seq = from; seq <= last; seq++) out.push(this.lines[seq % this.capacity]!);
    return out;
  }
}
