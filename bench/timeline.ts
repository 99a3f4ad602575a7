// A run's timeline: what `npm run bench -- --json FILE` writes for the charts of the steady run and
// of each sustained-rate probe (bench/charts/ turns it into SVG).
import type { OrderTime } from './order-stages.js';
import { countPerSecond, type SecondLatency } from './per-second.js';

export interface TimelineSecond {
  /** Seconds since the run's arrivals began. */
  s: number;
  /** Orders created (the API's insert) in this second. */
  accepted: number;
  /** Orders placed (placed_at) in this second; it goes on after the arrivals stop, while the last ones are placed. */
  placed: number;
  /** POST /orders latency of the requests sent in this second (null: none answered). */
  post: SecondLatency | null;
}

export interface Timeline {
  /** Epoch ms of second 0: when the load generator began sending. */
  startedAtMs: number;
  /** The arrival rate asked for (orders/s). */
  rate: number;
  seconds: TimelineSecond[];
  /** A sample of the run's orders spread over its arrival, healthy ones: where their time went. */
  orders: OrderTime[];
  /** Orders of the sample not in `orders` (not placed, or placed only after a failed first exchange attempt). */
  ordersLeftOut: number;
}

export function buildTimeline(input: {
  startedAtMs: number;
  rate: number;
  times: { createdMs: number; placedMs: number | null }[];
  post: (SecondLatency | null)[];
  orders: OrderTime[];
  ordersLeftOut: number;
}): Timeline {
  const accepted = countPerSecond(
    input.times.map((time) => time.createdMs),
    input.startedAtMs,
  );
  const placed = countPerSecond(
    input.times.flatMap((time) => (time.placedMs === null ? [] : [time.placedMs])),
    input.startedAtMs,
  );
  const length = Math.max(accepted.length, placed.length, input.post.length);
  return {
    startedAtMs: input.startedAtMs,
    rate: input.rate,
    seconds: Array.from({ length }, (_, s) => ({ s, accepted: accepted[s] ?? 0, placed: placed[s] ?? 0, post: input.post[s] ?? null })),
    orders: input.orders,
    ordersLeftOut: input.ordersLeftOut,
  };
}
