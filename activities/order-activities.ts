import { createExchangeActivities, type ExchangeActivityDeps } from './exchange-activities.js';
import { createOrderStoreActivities, type OrderStoreActivityDeps } from './order-store-activities.js';
import { createPlacementAttempt } from './placement-attempt.js';

// Every activity of the order workflow: its steps in the order store, its calls of the exchange,
// and a healthy order's three steps as one (placement-attempt.ts).

export type OrderActivityDeps = OrderStoreActivityDeps & ExchangeActivityDeps;

export type OrderActivities = ReturnType<typeof createOrderActivities>;

export function createOrderActivities(deps: OrderActivityDeps) {
  const store = createOrderStoreActivities(deps);
  const exchange = createExchangeActivities(deps);
  return { ...store, ...exchange, ...createPlacementAttempt({ ...store, ...exchange }) };
}
