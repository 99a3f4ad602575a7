import { inject } from 'vitest';
import { type Config, loadConfig } from '../../config/config.js';

/** A configuration pointing at the suite's servers, on a task queue of the test's own. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `orders-test-${Math.random().toString(36).slice(2, 10)}`,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}
