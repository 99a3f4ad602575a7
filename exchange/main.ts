// Entry point of the simulated venue: one process, its own TCP port (order entry and the
// execution stream) and control port (docs/executions.md).
import { exitOnConfigError } from '../config/env.js';
import { createLogger } from '../config/logger.js';
import { stopOnSignal } from '../lifecycle/stop-on-signal.js';
import { startVenue } from './venue/venue.js';
import { loadVenueConfig } from './venue-config.js';

try {
  const config = loadVenueConfig();
  const logger = createLogger('venue', config.LOG_LEVEL);
  const venue = await startVenue(config, logger);
  logger.info(
    { port: venue.port, controlPort: venue.controlPort, mode: config.VENUE_MODE, dataDir: config.VENUE_DATA_DIR },
    'venue started',
  );
  // Every report made is written before the process ends (close flushes the log).
  stopOnSignal('venue', logger, () => venue.close());
} catch (error) {
  exitOnConfigError(error);
  throw error;
}
