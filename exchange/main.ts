// Entry point of the simulated venue: one process, its own TCP port (order entry and the
// execution stream) and control port (docs/executions.md).
import { createLogger } from '../config/logger.js';
import { startVenue } from './venue/venue.js';
import { loadVenueConfig, VenueConfigError } from './venue-config.js';

try {
  const config = loadVenueConfig();
  const logger = createLogger('venue', config.LOG_LEVEL);
  const venue = await startVenue(config, logger);
  logger.info(
    { port: venue.port, controlPort: venue.controlPort, mode: config.VENUE_MODE, dataDir: config.VENUE_DATA_DIR },
    'venue started',
  );
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'venue stopping');
      // Every report made is written before the process ends (close flushes the log).
      venue.close().then(
        () => {
          logger.info('venue stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'venue stop failed');
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  if (error instanceof VenueConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
