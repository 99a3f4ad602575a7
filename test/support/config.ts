import { inject } from 'vitest';
import { type Config, loadConfig } from '../../config/config.js';

/**
 * Settings for tests that are not about a bound: generous, because the suite must pass on a busy
 * machine (CI machines are shared), where under a load of 10+ on two cores a workflow start, an
 * INSERT or opening a connection can take seconds, and a process may not read a request for
 * seconds. Tests of a bound set it themselves (PRODUCTION_BOUNDS, the slow-client tests).
 */
export const BUSY_MACHINE_SETTINGS = {
  ORDER_BUDGET_MS: '15000',
  DB_QUERY_TIMEOUT_MS: '10000',
  DB_CONNECT_TIMEOUT_MS: '5000',
  HTTP_HEADERS_TIMEOUT_MS: '30000',
  HTTP_BODY_IDLE_TIMEOUT_MS: '30000',
  HTTP_REQUEST_TIMEOUT_MS: '60000',
  RATE_LIMIT_STORAGE_TIMEOUT_MS: '10000',
} as const;

/**
 * Tests that are not about accounts: a request without a key acts as the demo account (as in
 * `npm start`), and the demo account, shared by every test, is never rate limited; nor are
 * failed authentications from 127.0.0.1, the address of every test. Tests of accounts, keys and
 * limits set these themselves.
 */
export const OPEN_ACCESS_SETTINGS = {
  AUTH_REQUIRED: 'false',
  RATE_LIMIT_PER_MINUTE: '100000000',
  AUTH_FAILURES_PER_MINUTE: '100000000',
} as const;

/** The production defaults of every bound of POST /orders, for tests of those bounds. */
export const PRODUCTION_BOUNDS = { ORDER_BUDGET_MS: '10000', DB_CONNECT_TIMEOUT_MS: '1000', DB_QUERY_TIMEOUT_MS: '2000' };

/** A configuration pointing at the suite's servers, on a task queue of the test's own. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    VENUE_ADDRESS: inject('venueAddress'),
    TEMPORAL_TASK_QUEUE: `orders-test-${Math.random().toString(36).slice(2, 10)}`,
    PORT: '0',
    HOST: '127.0.0.1',
    MANAGEMENT_PORT: '0',
    LOG_LEVEL: 'silent',
    ...BUSY_MACHINE_SETTINGS,
    ...OPEN_ACCESS_SETTINGS,
    ...overrides,
  });
}

/**
 * The most POST /orders may take with this configuration (docs/api.md, "Bounded time": the budget,
 * then the compensation's own database bound), plus slack for a busy machine, where the API's
 * own timers fire late: the test tells a bounded answer from one that hangs.
 */
export function postAnswerBoundMs(config: Config): number {
  return config.ORDER_BUDGET_MS + config.DB_CONNECT_TIMEOUT_MS + config.DB_QUERY_TIMEOUT_MS + 5000;
}
