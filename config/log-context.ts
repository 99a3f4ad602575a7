import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written while a request (or any other unit of work) runs carries: its
 * request id, and the order and workflow it concerns once they are known. Loggers made by
 * createLogger add these fields to each line themselves (a pino mixin), so code deep in a request
 * needs no logger handed down to get them.
 */
export interface LogFields {
  reqId?: string;
  orderId?: string;
  workflowId?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `work` with its own log fields; annotateLog() inside it adds to them. */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  return storage.run({ ...fields }, work);
}

/** Adds fields to the current unit of work's log lines (from now on); outside one it does nothing. */
export function annotateLog(fields: LogFields): void {
  const current = storage.getStore();
  if (current) Object.assign(current, fields);
}

/** The current fields (empty outside a unit of work). */
export function logFields(): LogFields {
  return storage.getStore() ?? {};
}
