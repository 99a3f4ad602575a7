import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from '../config/logger.js';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The SDK's lines that are written at debug whatever level the SDK gives them:
 * - 'Activity failed', with the error's whole stack and cause chain: the worker's activity
 *   interceptor writes one WARN line of its own per failed attempt (worker/attempt-failure-log.ts),
 *   with the order, the attempt and the reason; this line stays at debug for whoever needs the stack.
 * - the workflow bundler's webpack statistics and its 'Workflow bundle created' line.
 */
function demoted(message: string, meta: LogMetadata | undefined): boolean {
  if (meta?.sdkComponent !== 'worker') return false;
  return message === 'Activity failed' || message === 'Workflow bundle created' || /\bwebpack [\d.]+ compiled\b/.test(message);
}

/**
 * The Temporal SDK's Logger interface over pino, for `Runtime.install({ logger })`: the SDK's own
 * lines, the Rust core's (forwarded), and those of `log` in workflows and activities all become
 * lines of the worker's JSON log. Their metadata (workflowId, activityType, taskQueue, …) become
 * fields, except the activity's task token (a long base64 string no person reads; the workflow
 * id, activity id and attempt say which task it was); an `error` becomes pino's serialised `err`.
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const method = demoted(message, meta) ? 'debug' : (LEVELS[level] ?? 'info');
    if (!logger.isLevelEnabled(method)) return;
    const { error, taskToken: _taskToken, ...rest } = meta ?? {};
    // Own string keys only: the SDK's timestamp rides on a symbol key (a bigint pino cannot write).
    const fields: Record<string, unknown> = Object.fromEntries(Object.entries(rest));
    if (error !== undefined) fields.err = error;
    logger[method](fields, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}
