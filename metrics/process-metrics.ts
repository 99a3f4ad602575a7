import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * The process's own metrics (CPU, memory, event loop, GC), collected once per process however
 * many registries serve them: tests build several APIs, workers and ingests in one process.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** What a process's /metrics serves: its own series, in a registry of their own, and the process's. */
export function withProcessMetrics(own: Registry): Registry {
  return Registry.merge([own, processMetrics()]);
}
