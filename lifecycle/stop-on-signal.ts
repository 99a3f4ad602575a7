import type { Logger } from '../config/logger.js';

/**
 * On the first SIGINT or SIGTERM: logs `<name> stopping`, awaits `close`, logs `<name> stopped`
 * and exits 0, or logs `<name> stop failed` and exits 1. A later signal does nothing, so a second
 * Ctrl-C cannot cut short what `close` must finish (a batch's commit, the report log's flush).
 * The ingestion process and the venue stop so; the API drains and the worker lets the SDK stop.
 */
export function stopOnSignal(name: string, logger: Logger, close: () => Promise<unknown>): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, `${name} stopping`);
      close().then(
        () => {
          logger.info(`${name} stopped`);
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, `${name} stop failed`);
          process.exit(1);
        },
      );
    });
  }
}
