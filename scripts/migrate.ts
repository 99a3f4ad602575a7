// Applies the pending migrations (prisma/migrate.ts) to DATABASE_URL and exits: the one-shot
// migrations job of a deployment (docker-compose.yml's `migrate` service). Safe to run from
// several places at once (advisory lock).
//   node --import tsx scripts/migrate.ts
import { loadConfig } from '../config/config.js';
import { exitOnConfigError } from '../config/env.js';
import { createLogger } from '../config/logger.js';
import { applyMigrations } from '../prisma/migrate.js';

try {
  const config = loadConfig();
  const logger = createLogger('migrate', config.LOG_LEVEL);
  try {
    const applied = await applyMigrations(config.DATABASE_URL);
    logger.info({ applied }, applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
  } catch (error) {
    logger.fatal({ err: error }, 'migrations failed');
    process.exitCode = 1;
  }
} catch (error) {
  exitOnConfigError(error);
  console.error(error);
  process.exitCode = 1;
}
