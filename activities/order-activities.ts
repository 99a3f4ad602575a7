import { createExchangeActivities, type ExchangeActivityDeps } from './exchange-activities.js';
import { createOrderStoreActivities, type OrderStoreActivityDeps } from './order-store-activities.js';

// Every activity of the order workflow: its steps in the order store and its calls of the exchange.

export type OrderActivityDeps = OrderStoreActivityDeps & ExchangeActivityDeps;

export type OrderActivities = ReturnType<typeof createOrderActivities>;

export function createOrderActivities(deps: OrderActivityDeps) {
  return { ...createOrderStoreActivities(deps), ...createExchangeActivities(deps) };
}
