// Load generators: autocannon for HTTP, and a closed loop at fixed concurrency for in-process
// calls (the Prisma insert, the Temporal start). Both record every latency in an hdr histogram.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { type LatencySummary, newHistogram, recordMs, summarise } from './histogram.js';

export interface LoadResult {
  /** Completed operations (HTTP: responses of any status). */
  completed: number;
  perSecond: number;
  latency: LatencySummary;
  /** HTTP: answers other than 2xx. */
  non2xx: number;
  /** HTTP: connection errors and timeouts; in-process: rejected calls. */
  errors: number;
  statusCodes: Record<string, number>;
  durationS: number;
  firstError?: string;
}

export interface HttpLoadOptions {
  urls: string[];
  connections: number;
  durationS?: number;
  /** Stop after this many requests instead of after durationS. */
  amount?: number;
  /** Requests per second over all connections (open model); unlimited when absent. */
  overallRate?: number;
  method?: 'GET' | 'POST';
  path?: string;
  body?: string;
}

export function httpLoad(options: HttpLoadOptions): Promise<LoadResult> {
  const histogram = newHistogram();
  const statusCodes: Record<string, number> = {};
  let firstError: string | undefined;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.urls.map((url) => url + (options.path ?? '/orders')),
        connections: options.connections,
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationS ?? 10 }),
        ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
        timeout: 30,
        method: options.method ?? 'POST',
        headers: options.body ? { 'content-type': 'application/json' } : {},
        ...(options.body ? { body: options.body } : {}),
      },
      (error, result) => {
        if (error) {
          histogram.destroy();
          reject(error);
          return;
        }
        const durationS = (performance.now() - started) / 1000;
        const completed = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
        resolve({
          completed,
          perSecond: completed / durationS,
          latency: summarise(histogram),
          non2xx: completed - Object.entries(statusCodes).reduce((sum, [code, count]) => sum + (code.startsWith('2') ? count : 0), 0),
          errors: result.errors,
          statusCodes,
          durationS,
          ...(firstError ? { firstError } : {}),
        });
        histogram.destroy();
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      recordMs(histogram, responseTimeMs);
    });
    instance.on('reqError', (error) => {
      firstError ??= error.message;
    });
  });
}

/**
 * `concurrency` loops, each calling `task` again as soon as its last call ended, for durationS
 * seconds or until `amount` calls were made.
 */
export async function closedLoop(options: {
  concurrency: number;
  durationS?: number;
  amount?: number;
  task: () => Promise<unknown>;
}): Promise<LoadResult> {
  const histogram = newHistogram();
  let completed = 0;
  let errors = 0;
  let issued = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const end = options.durationS === undefined ? Infinity : started + options.durationS * 1000;
  const amount = options.amount ?? Infinity;
  const loop = async () => {
    while (performance.now() < end && issued < amount) {
      issued += 1;
      const t0 = performance.now();
      try {
        await options.task();
        recordMs(histogram, performance.now() - t0);
        completed += 1;
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const durationS = (performance.now() - started) / 1000;
  const result: LoadResult = {
    completed,
    perSecond: completed / durationS,
    latency: summarise(histogram),
    non2xx: 0,
    errors,
    statusCodes: {},
    durationS,
    ...(firstError ? { firstError } : {}),
  };
  histogram.destroy();
  return result;
}
