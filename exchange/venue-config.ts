import { z } from 'zod';
import { ConfigError, envDatabaseUrl, envLogLevel, envPort, parseEnv, presentEnv } from '../config/env.js';
import { isPrice } from '../domain/decimal.js';

/**
 * Every setting of the venue process (exchange/main.ts), validated once at start; a bad value
 * stops it with a message naming the variable. The service's own settings are config/config.ts's.
 */
const venueEnv = z.object({
  VENUE_HOST: z.string().min(1).default('0.0.0.0'),
  VENUE_PORT: envPort.default(7300),
  VENUE_CONTROL_PORT: envPort.default(7301),
  VENUE_DATA_DIR: z.string().min(1).default('.data/venue'),
  VENUE_SEED: z.coerce.number().int().default(1),
  VENUE_MODE: z.enum(['random', 'scripted']).default('random'),
  VENUE_TICK_MS: z.coerce.number().int().min(1).default(200),
  VENUE_HEARTBEAT_MS: z.coerce.number().int().min(10).default(1000),
  // The group commit of the report log: reports wait at most this long for their fsync batch.
  VENUE_LOG_FLUSH_MS: z.coerce.number().int().min(0).max(1000).default(2),
  VENUE_REFERENCE_PRICES: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. {"US0378331005":"187.25"}' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), z.string().refine(isPrice, 'each price must be a decimal with at most 4 decimals')))
    .default({}),
  // Unset: day orders expire at VENUE_CLOSE_UTC; set: this long after their acceptance (tests).
  VENUE_DAY_TTL_MS: z.coerce.number().int().min(1).optional(),
  VENUE_CLOSE_UTC: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)')
    .default('21:00'),
  EXCHANGE_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.1),
  EXCHANGE_LATENCY_MS: z.coerce.number().int().min(0).default(500),
  // The ledger of accepted orders (schema exchange_sim).
  DATABASE_URL: envDatabaseUrl,
  LOG_LEVEL: envLogLevel,
});

export type VenueConfig = z.infer<typeof venueEnv>;

export class VenueConfigError extends ConfigError {
  override readonly name = 'VenueConfigError';
}

export function loadVenueConfig(env: NodeJS.ProcessEnv = process.env): VenueConfig {
  return parseEnv(venueEnv, presentEnv(env), 'venue configuration', (message) => new VenueConfigError(message));
}
