import { z } from 'zod';

/** The fault switches of POST /control/faults (docs/executions.md), each optional. */
export const faultsRequest = z
  .object({
    drop_connections: z.boolean().optional(),
    drop_order_entry: z.boolean().optional(),
    duplicates: z.number().min(0).max(1).optional(),
    reorder: z.boolean().optional(),
    pause_ms: z.number().int().min(0).max(600_000).optional(),
    burst: z.number().int().min(0).max(1_000_000).optional(),
    skip: z.number().int().min(0).max(1_000_000).optional(),
  })
  .strict();
export type FaultsRequest = z.infer<typeof faultsRequest>;

/** How long a burst holds reports back at most, when fewer than its count come. */
const BURST_MAX_HOLD_MS = 10_000;

/** The switches' state, read by every execution session's sender. */
export class Faults {
  duplicates = 0;
  reorder = false;
  pausedUntil = 0;
  /** Live sends wait until the log reaches this seq (a burst), or until burstDeadline. */
  burstUntilSeq = 0;
  burstDeadline = 0;

  /** True while sends are held back (pause, or a burst filling up). */
  holding(durableSeq: number, now = Date.now()): boolean {
    if (now < this.pausedUntil) return true;
    return durableSeq < this.burstUntilSeq && now < this.burstDeadline;
  }

  set(request: FaultsRequest, nextSeq: number, now = Date.now()): void {
    if (request.duplicates !== undefined) this.duplicates = request.duplicates;
    if (request.reorder !== undefined) this.reorder = request.reorder;
    if (request.pause_ms !== undefined) this.pausedUntil = now + request.pause_ms;
    if (request.burst !== undefined) {
      this.burstUntilSeq = nextSeq - 1 + request.burst;
      this.burstDeadline = now + BURST_MAX_HOLD_MS;
    }
  }

  view() {
    return {
      duplicates: this.duplicates,
      reorder: this.reorder,
      paused_until: this.pausedUntil > Date.now() ? new Date(this.pausedUntil).toISOString() : null,
      burst_until_seq: this.burstUntilSeq,
    };
  }
}
