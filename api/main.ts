// Production entry point of the API: one process; run as many as needed behind a balancer.
import { ConfigError, loadConfig } from '../config/config.js';
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
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'API shutting down');
    await api.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
