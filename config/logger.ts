import { type DestinationStream, type Logger, pino } from 'pino';
import { logFields } from './log-context.js';

export type { Logger };

/**
 * Structured JSON logs, one object a line, on stdout unless another destination is given
 * (`npm start` pretty-prints them). Each line written inside a request carries its `reqId`, and
 * `orderId` / `workflowId` once known (config/log-context.ts).
 */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  const options = { name, level, mixin: () => ({ ...logFields() }) };
  return destination ? pino(options, destination) : pino(options);
}
