// Entry point of the ingestion process (docs/executions.md): holds the venue's execution session
// when it wins it (run as many as you like: the others stand by), persists the reports in
// batches, relays terminal events to the orders' workflows.
import { createLogger } from '../config/logger.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import { startIngest } from './ingest.js';
import { IngestConfigError, loadIngestConfig } from './ingest-config.js';

try {
  const config = loadIngestConfig();
  const logger = createLogger('ingest', config.LOG_LEVEL);
  const ingest = startIngest(config, logger);
  const metricsServer =
    config.INGEST_METRICS_PORT === undefined
      ? undefined
      : await startMetricsServer({
          registry: ingest.metrics.registry,
          port: config.INGEST_METRICS_PORT,
          host: config.HOST,
          live: () => true,
        });
  logger.info(
    { venue: config.VENUE_ADDRESS, session: config.VENUE_SESSION, metricsPort: metricsServer?.port ?? null, pid: process.pid },
    'ingest started',
  );
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'ingest stopping');
      // The batch in flight commits or rolls back before the session's lock is released.
      Promise.all([ingest.close(), metricsServer?.close()]).then(
        () => {
          logger.info('ingest stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'ingest stop failed');
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  if (error instanceof IngestConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
