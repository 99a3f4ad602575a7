// Production entry point of the worker: one process; run as many as needed on one task queue.
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/config.js';
import { exitOnConfigError } from '../config/env.js';
import { createLogger } from '../config/logger.js';
import { type MetricsServer, startMetricsServer } from '../metrics/metrics-server.js';
import { temporalLogger } from './temporal-logger.js';
import { createOrderWorker } from './worker.js';

/** How long past WORKER_SHUTDOWN_GRACE_MS a shutting-down worker may take before it exits anyway. */
const SHUTDOWN_MARGIN_MS = 10_000;

try {
  const config = loadConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  Runtime.install({
    // The SDK's lines, workflow and activity `log` calls, and the Rust core's warnings all go to
    // the same pino logger as the worker's own lines: one JSON log.
    logger: temporalLogger(logger),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      // The SDK's own metrics (task slots, poll and schedule-to-start latencies, …) on their own
      // port, named as Prometheus names them (durations in seconds with a `_seconds` suffix,
      // counters ending in `_total`) like this worker's and the API's own series.
      ...(config.TEMPORAL_METRICS_BIND_ADDRESS
        ? {
            metrics: {
              prometheus: {
                bindAddress: config.TEMPORAL_METRICS_BIND_ADDRESS,
                useSecondsForDurations: true,
                unitSuffix: true,
                countersTotalSuffix: true,
              },
            },
          }
        : {}),
    },
    // SIGINT/SIGTERM make the SDK shut the worker down gracefully: it stops polling, and running
    // activities get WORKER_SHUTDOWN_GRACE_MS to finish (their results are reported) before
    // they are cancelled.
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });
  const orderWorker = await createOrderWorker(config);
  let metricsServer: MetricsServer | undefined;
  if (config.WORKER_METRICS_PORT !== undefined) {
    metricsServer = await startMetricsServer({
      registry: orderWorker.metrics.registry,
      port: config.WORKER_METRICS_PORT,
      host: config.HOST,
      live: () => orderWorker.worker.getState() === 'RUNNING',
    });
  }
  const shuttingDown = (signal: string) => {
    logger.info({ signal, graceMs: config.WORKER_SHUTDOWN_GRACE_MS }, 'worker shutting down');
    // The SDK's graceful shutdown waits for the tasks in hand to be reported to Temporal; with
    // Temporal gone too (npm start's launcher killed: every process stops at once) it could wait
    // for ever, and a worker outlived its launcher. Past the grace and a margin, the process ends.
    setTimeout(() => {
      logger.error({ signal, afterMs: config.WORKER_SHUTDOWN_GRACE_MS + SHUTDOWN_MARGIN_MS }, 'worker did not stop in time: exiting');
      process.exit(1);
    }, config.WORKER_SHUTDOWN_GRACE_MS + SHUTDOWN_MARGIN_MS).unref();
  };
  process.once('SIGTERM', () => shuttingDown('SIGTERM'));
  process.once('SIGINT', () => shuttingDown('SIGINT'));
  logger.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      address: config.TEMPORAL_ADDRESS,
      metricsPort: metricsServer?.port ?? null,
      temporalMetrics: config.TEMPORAL_METRICS_BIND_ADDRESS ?? null,
      workflowBundle: config.WORKFLOW_BUNDLE_PATH ?? null,
    },
    'worker started',
  );
  try {
    await orderWorker.run();
  } finally {
    await metricsServer?.close();
  }
  logger.info('worker stopped');
} catch (error) {
  exitOnConfigError(error);
  console.error(error);
  process.exit(1);
}
