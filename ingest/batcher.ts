/**
 * The queue between the session's sequencer and the batch writer (docs/executions.md,
 * "Batches"): a batch goes when `max` items wait or `delayMs` after the first, one batch in
 * flight at a time. While more than 4 × `max` wait the reader is paused, until fewer than 2 × `max` do.
 */
export interface BatcherOptions<T> {
  max: number;
  delayMs: number;
  /** Writes one batch; must not reject (its failures are its own to handle). */
  write: (batch: T[]) => Promise<void>;
  /** True once the connection is closed: no batch starts then. */
  isClosed: () => boolean;
  pause: () => void;
  resume: () => void;
}

export class Batcher<T> {
  private readonly queue: T[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(private readonly options: BatcherOptions<T>) {}

  enqueue(items: readonly T[]): void {
    for (const item of items) this.queue.push(item);
    this.schedule();
  }

  /** Drops what waits (it was not committed) and resolves once the batch in flight is done. */
  stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    return this.inFlight ?? Promise.resolve();
  }

  private schedule(): void {
    const { max, delayMs } = this.options;
    // Checked before the flush, which a full queue returns through.
    if (!this.paused && this.queue.length > 4 * max) {
      // The writer is behind: stop reading (TCP pushes back on the venue) until it catches up.
      // A batch is in flight or starts now, and its end resumes once fewer than 2 × max wait.
      this.paused = true;
      this.options.pause();
    }
    if (this.queue.length >= max) {
      this.flush();
      return;
    }
    if (!this.timer && !this.inFlight) this.timer = setTimeout(() => this.flush(), delayMs);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.options.isClosed() || this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.max);
    this.inFlight = this.options.write(batch).finally(() => {
      this.inFlight = null;
      if (this.options.isClosed()) return;
      if (this.paused && this.queue.length < 2 * this.options.max) {
        this.paused = false;
        this.options.resume();
      }
      if (this.queue.length > 0) this.schedule();
    });
  }
}
