import { Counter, Histogram, Registry } from 'prom-client';
import { EXCHANGE_ERRORS } from '../exchange/errors.js';
import { withProcessMetrics } from '../metrics/process-metrics.js';

export interface WorkerMetrics {
  registry: Registry;
  placements: Counter;
  exchangeAttempts: Counter;
  exchangeFailures: Counter<'reason'>;
  placementLag: Histogram;
}

export function createWorkerMetrics(): WorkerMetrics {
  const own = new Registry();
  const placements = new Counter({
    name: 'order_placements_total',
    help: 'Orders marked placed by this worker (placing -> placed).',
    registers: [own],
  });
  const exchangeAttempts = new Counter({
    name: 'exchange_attempts_total',
    help: 'Calls of the exchange to place an order (every attempt, retries included).',
    registers: [own],
  });
  const exchangeFailures = new Counter({
    name: 'exchange_failures_total',
    help: 'Calls of the exchange to place an order that failed, by reason (the error type).',
    labelNames: ['reason'] as const,
    registers: [own],
  });
  const placementLag = new Histogram({
    name: 'order_placement_lag_seconds',
    help: "Time from an order's creation (created_at) to its placement (placed_at).",
    // One exchange call takes 0.5 s; retries back off from 1 s up to 2 minutes each.
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [own],
  });
  exchangeFailures.inc({ reason: EXCHANGE_ERRORS.OrderPlacementError }, 0);
  return { registry: withProcessMetrics(own), placements, exchangeAttempts, exchangeFailures, placementLag };
}
