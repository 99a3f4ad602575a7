import pRetry from 'p-retry';
import type { Logger } from '../config/logger.js';
import { REJECTION_REASONS } from '../domain/order.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import type { ApiMetrics } from './metrics.js';

export interface OpenOutcomeTracker {
  /** Records an order answered 500 whose start and rejection were both unconfirmed. */
  report(orderId: string, cause: unknown): void;
  /** Stops the retries (process shutdown); orders still open are left to the stale-order sweep. */
  stop(): void;
}

/**
 * The double fault's window, made visible: a POST that could confirm neither its workflow's
 * start nor the order's rejection answered 500 without knowing whether the order will be placed.
 * Each such order is logged and counted at once, then its rejection is retried until the
 * database answers; the outcome is logged and counted again: 'rejected' (never placed, the 500
 * holds) or 'started' (its workflow claimed it first: placed although its client got a 500).
 */
export function createOpenOutcomeTracker(deps: {
  orders: Pick<OrdersRepository, 'rejectIfPending'>;
  logger: Logger;
  metrics: Pick<ApiMetrics, 'openOutcomes'>;
  retry?: { minTimeout: number; maxTimeout: number };
}): OpenOutcomeTracker {
  const stopping = new AbortController();
  const { minTimeout, maxTimeout } = deps.retry ?? { minTimeout: 500, maxTimeout: 30_000 };
  return {
    report(orderId, cause) {
      deps.metrics.openOutcomes.inc({ outcome: 'open' });
      deps.logger.error({ orderId, err: cause }, 'order answered 500 with its outcome open: start and rejection both unconfirmed');
      void pRetry(() => deps.orders.rejectIfPending(orderId, REJECTION_REASONS.startUnconfirmed), {
        forever: true,
        minTimeout,
        maxTimeout,
        signal: stopping.signal,
      }).then(
        (status) => {
          if (status === 'rejected') {
            deps.metrics.openOutcomes.inc({ outcome: 'rejected' });
            deps.logger.warn({ orderId }, 'open outcome decided: rejected, never placed');
          } else {
            deps.metrics.openOutcomes.inc({ outcome: 'started' });
            deps.logger.error({ orderId, status }, 'open outcome decided: its workflow took the order although its request answered 500');
          }
        },
        () => deps.logger.warn({ orderId }, 'open outcome still undecided at shutdown; the stale-order sweep decides it'),
      );
    },
    stop: () => stopping.abort(),
  };
}
