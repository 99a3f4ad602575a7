// Production entry point of the worker: one process; run as many as needed on one task queue.
import { Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { createOrderWorker } from './worker.js';

try {
  const config = loadConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  // SIGINT/SIGTERM make the SDK shut the worker down gracefully: running activities finish first.
  Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'] });
  const orderWorker = await createOrderWorker(config);
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS }, 'worker started');
  await orderWorker.run();
  logger.info('worker stopped');
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
