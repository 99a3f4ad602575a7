// Production entry point of the API: one process; run as many as needed behind a balancer.
import { loadConfig } from '../config/config.js';
import { exitOnConfigError } from '../config/env.js';
import { createLogger } from '../config/logger.js';
import { startApiServer } from './server.js';

try {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const crashAt = config.API_TEST_CRASH_AT;
  // Test hook: die abruptly at one step of POST /orders, as a process killed mid-request would.
  const faults = crashAt ? (point: string) => void (point === crashAt && process.kill(process.pid, 'SIGKILL')) : undefined;
  const api = await startApiServer(config, logger, faults);
  logger.info({ url: api.url }, 'API listening');
  // SIGTERM/SIGINT: readiness turns 503 at once, the listener closes (after SHUTDOWN_DRAIN_DELAY_MS),
  // requests in flight finish (at most SHUTDOWN_TIMEOUT_MS), then the process exits. A second
  // signal kills it at once (the handlers are installed once).
  const shutdown = async (signal: string) => {
    logger.info({ signal, drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'API shutting down');
    await api.close({ drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
    logger.info('API stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
} catch (error) {
  exitOnConfigError(error);
  console.error(error);
  process.exit(1);
}
