// Per-second series of one run, for the charts (bench/charts/): how many orders were accepted and
// placed in each second, and the POST /orders latency percentiles of the requests sent in it.
// Second 0 starts when the run's arrivals began; a second with nothing in it is counted as 0
// (or, for latency, has no percentiles).
import { summariseMs } from './histogram.js';

export interface SecondLatency {
  /** Requests sent in this second that got an answer. */
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** How many of `timesMs` (epoch ms) fall in each second from `startMs` on; times before it are left out. */
export function countPerSecond(timesMs: Iterable<number>, startMs: number): number[] {
  const counts: number[] = [];
  for (const time of timesMs) {
    const second = Math.floor((time - startMs) / 1000);
    if (second < 0) continue;
    while (counts.length <= second) counts.push(0);
    counts[second]! += 1;
  }
  return counts;
}

/**
 * POST latencies by the second their request was sent (not answered): under an open model the
 * requests of one second are one second's arrivals, and a slow answer shows where it was asked.
 */
export class LatencyBySecond {
  private readonly seconds: number[][] = [];

  /** startMs: epoch ms of second 0. */
  constructor(readonly startMs: number) {}

  /** One answer: when it arrived (epoch ms) and how long it took. */
  record(answeredAtMs: number, latencyMs: number): void {
    const second = Math.floor((answeredAtMs - latencyMs - this.startMs) / 1000);
    if (second < 0) return;
    while (this.seconds.length <= second) this.seconds.push([]);
    this.seconds[second]!.push(latencyMs);
  }

  /** One entry per second (null where no request sent in it was answered). */
  summaries(): (SecondLatency | null)[] {
    return this.seconds.map((values) => {
      if (values.length === 0) return null;
      const { count, p50Ms, p90Ms, p99Ms, maxMs } = summariseMs(values);
      return { count, p50Ms, p90Ms, p99Ms, maxMs };
    });
  }
}
