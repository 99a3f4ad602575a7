import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Logger } from '../config/logger.js';
import type { BatchResult, IngestItem, Repair } from './batch-plan.js';
import { FencedError, writeBatch } from './batch-writer.js';
import type { IngestMetrics } from './metrics.js';

export interface CommitLoopDeps {
  pool: pg.Pool;
  session: { name: string; epoch: number };
  metrics: IngestMetrics;
  logger: Logger;
  /** A cum mismatch's range to ask the venue for again. */
  repair: (repair: Repair) => void;
  /** After a commit that made orders terminal. */
  onTerminal: () => void;
  /** Closes the connection: a batch failed. */
  close: (why: string, error?: unknown) => void;
}

/** The next_seq a batch commits: one past its highest seq in sequence (a repair's resend is below the committed one). */
export function nextSeqAfter(committed: number, batch: readonly IngestItem[]): number {
  let nextSeq = committed;
  for (const item of batch) if (item.seq !== null && !item.repair) nextSeq = Math.max(nextSeq, item.seq + 1);
  return nextSeq;
}

/**
 * Commits a connection's batches, one at a time (the batcher waits for each): moves the
 * committed seq on, counts and logs what the batch did, asks for repairs; a fenced batch marks
 * the connection fenced, any failed one closes it (what it held is read again from `committed`).
 */
export class CommitLoop {
  fenced = false;

  constructor(
    private readonly deps: CommitLoopDeps,
    public committed: number,
  ) {}

  async commit(batch: IngestItem[]): Promise<void> {
    const nextSeq = nextSeqAfter(this.committed, batch);
    const began = performance.now();
    try {
      const result = await writeBatch(this.deps.pool, this.deps.session, batch, nextSeq);
      this.committed = nextSeq;
      this.record(batch, result, began);
    } catch (error) {
      if (error instanceof FencedError) {
        this.fenced = true;
        this.deps.close('fenced: another process holds the session', error);
      } else {
        this.deps.close('a batch failed; reconnecting from the committed seq', error);
      }
    }
  }

  private record(batch: IngestItem[], result: BatchResult, began: number): void {
    const { metrics, logger, session } = this.deps;
    const now = performance.now();
    metrics.commitSeconds.observe((now - began) / 1000);
    metrics.batchSize.observe(batch.length);
    metrics.reports.inc(batch.length - result.duplicates);
    if (result.duplicates > 0) metrics.duplicates.inc(result.duplicates);
    for (const item of batch) metrics.socketToCommitSeconds.observe((now - item.readAt) / 1000);
    for (const reject of result.rejects) {
      metrics.rejects.inc({ reason: reject.reason });
      logger.warn({ session: session.name, ...reject }, 'execution report rejected');
    }
    for (const repair of result.repairs) this.deps.repair(repair);
    if (result.terminals > 0) this.deps.onTerminal();
  }
}
