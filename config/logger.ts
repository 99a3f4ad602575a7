import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { logFields } from './log-context.js';

export type { Logger };

/**
 * Structured JSON logs, one object a line, on stdout unless another destination is given
 * (`npm start` pretty-prints them). Times are ISO 8601 and levels their names ("info"), so a line
 * reads the same to a person, `jq` and a log shipper. Each line written inside a request carries
 * its `reqId`, and `orderId` / `workflowId` once known (config/log-context.ts).
 */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name,
    level,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => ({ ...logFields() }),
  };
  return destination ? pino(options, destination) : pino(options);
}
