import type { Repair } from './batch-plan.js';

/** How long a cum mismatch's repair lasts: resent reports of that order are looked at again. */
export const REPAIR_MS = 30_000;

/**
 * The cum mismatches being repaired, by order (docs/executions.md, "Ingestion"): while a window
 * is open, resent reports of its order within its range are folded again (only exec ids not
 * stored count). Kept across reconnections of one session holder.
 */
export class RepairWindows {
  private readonly windows = new Map<string, { from: number; to: number; until: number }>();

  constructor(private readonly durationMs = REPAIR_MS) {}

  /** Opens a window for the order unless one is open: true when it did (ask the venue for the range). */
  open(repair: Repair, now = Date.now()): boolean {
    const current = this.windows.get(repair.orderId);
    if (current && current.until > now) return false;
    this.windows.set(repair.orderId, { from: repair.from, to: repair.to, until: now + this.durationMs });
    return true;
  }

  /** Whether a resent report of the order at `seq` is within an open window. */
  covers(orderId: string, seq: number, now = Date.now()): boolean {
    const window = this.windows.get(orderId);
    return window !== undefined && window.until > now && seq >= window.from && seq <= window.to;
  }

  /** Forgets the windows that ended. */
  prune(now = Date.now()): void {
    for (const [orderId, window] of this.windows) if (window.until <= now) this.windows.delete(orderId);
  }
}
