// Entry point of the ingestion process (docs/executions.md): holds the venue's execution session
// when it wins it (run as many as you like: the others stand by), persists the reports in
// batches, relays terminal events to the orders' workflows.
import { exitOnConfigError } from '../config/env.js';
import { createLogger } from '../config/logger.js';
import { stopOnSignal } from '../lifecycle/stop-on-signal.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import { startIngest } from './ingest.js';
import { loadIngestConfig } from './ingest-config.js';

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
  // The batch in flight commits or rolls back before the session's lock is released.
  stopOnSignal('ingest', logger, () => Promise.all([ingest.close(), metricsServer?.close()]));
} catch (error) {
  exitOnConfigError(error);
  throw error;
}
