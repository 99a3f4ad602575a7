import { inject } from 'vitest';
import { type Config, loadConfig } from '../../config/config.js';

/**
 * The time budget of POST /orders in tests that are not about its bound: generous, because the
 * suite must pass on a busy machine (CI machines are shared), where a workflow start can take
 * seconds. Tests of the bound set ORDER_BUDGET_MS themselves.
 */
export const TEST_ORDER_BUDGET_MS = '15000';
// Likewise for a statement and a new connection: under a load of 10+ on two cores an INSERT, or
// opening a connection, can take seconds.
const TEST_DB_QUERY_TIMEOUT_MS = '10000';
const TEST_DB_CONNECT_TIMEOUT_MS = '5000';

/** The production defaults of every bound of POST /orders, for tests of those bounds. */
export const PRODUCTION_BOUNDS = { ORDER_BUDGET_MS: '5000', DB_CONNECT_TIMEOUT_MS: '1000', DB_QUERY_TIMEOUT_MS: '2000' };

/** A configuration pointing at the suite's servers, on a task queue of the test's own. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `orders-test-${Math.random().toString(36).slice(2, 10)}`,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ORDER_BUDGET_MS: TEST_ORDER_BUDGET_MS,
    DB_QUERY_TIMEOUT_MS: TEST_DB_QUERY_TIMEOUT_MS,
    DB_CONNECT_TIMEOUT_MS: TEST_DB_CONNECT_TIMEOUT_MS,
    ...overrides,
  });
}

/**
 * The most POST /orders may take with this configuration (README, "Bounded time": the budget,
 * then the compensation's own database bound), plus slack for a busy machine.
 */
export function postAnswerBoundMs(config: Config): number {
  return config.ORDER_BUDGET_MS + config.DB_CONNECT_TIMEOUT_MS + config.DB_QUERY_TIMEOUT_MS + 2000;
}
