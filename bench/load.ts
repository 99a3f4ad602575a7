// Load generators: autocannon for HTTP, a burst of requests sent at one moment, and a closed
// loop at fixed concurrency for in-process calls (the Prisma insert, the Temporal start). Each
// records every latency in an hdr histogram.
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { type LatencySummary, newHistogram, recordMs, summarise } from './histogram.js';
import type { LatencyBySecond } from './per-second.js';

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
  /** More request headers (Authorization). */
  headers?: Record<string, string>;
  /** Also records each answer's latency by the second its request was sent (the charts' series). */
  bySecond?: LatencyBySecond;
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
        headers: { ...(options.body ? { 'content-type': 'application/json' } : {}), ...options.headers },
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
      options.bySecond?.record(Date.now(), responseTimeMs);
    });
    instance.on('reqError', (error) => {
      firstError ??= error.message;
    });
  });
}

export interface BurstLoadResult extends LoadResult {
  /** Requests that got no answer, by error (a connection closed without one, a timeout…). */
  errorsByMessage: Record<string, number>;
  /** How long it took to open every connection, before the first request was written. */
  connectS: number;
  /** The bodies of the 2xx answers (what the client was told it has). */
  okBodies: string[];
}

/**
 * `count` requests at one moment: one connection each, spread evenly over `urls`, all opened
 * first; then every request is written in the same tick, and each one's latency runs from there
 * to the end of its answer. (autocannon writes each request as its connection opens, so its
 * requests leave over as long as opening them all takes, and it counts a connection closed
 * without an answer as nothing at all.)
 */
export async function burstLoad(options: { urls: string[]; count: number; body: string; timeoutS: number }): Promise<BurstLoadResult> {
  const connectStarted = performance.now();
  const sockets = await Promise.all(
    Array.from({ length: options.count }, (_, i) => {
      const url = new URL(options.urls[i % options.urls.length]!);
      return new Promise<{ socket: net.Socket; url: URL }>((resolve, reject) => {
        const socket = net.connect({ host: url.hostname, port: Number(url.port) });
        socket.once('connect', () => resolve({ socket, url }));
        socket.once('error', reject);
      });
    }),
  );
  const connectS = (performance.now() - connectStarted) / 1000;
  const histogram = newHistogram();
  const statusCodes: Record<string, number> = {};
  const errorsByMessage: Record<string, number> = {};
  const okBodies: string[] = [];
  const body = Buffer.from(options.body);
  const started = performance.now();
  await Promise.all(
    sockets.map(
      ({ socket, url }) =>
        new Promise<void>((resolve) => {
          const failed = (error: Error) => {
            errorsByMessage[error.message] = (errorsByMessage[error.message] ?? 0) + 1;
            resolve();
          };
          const request = http.request(
            {
              host: url.hostname,
              port: url.port,
              method: 'POST',
              path: '/orders',
              headers: { 'content-type': 'application/json', 'content-length': body.length, connection: 'close' },
              createConnection: () => socket,
              timeout: options.timeoutS * 1000,
            },
            (response) => {
              const chunks: Buffer[] = [];
              response.on('data', (chunk: Buffer) => chunks.push(chunk));
              response.once('end', () => {
                recordMs(histogram, performance.now() - started);
                const code = String(response.statusCode);
                statusCodes[code] = (statusCodes[code] ?? 0) + 1;
                if (code.startsWith('2')) okBodies.push(Buffer.concat(chunks).toString('utf8'));
                socket.destroy();
                resolve();
              });
              response.once('error', failed);
            },
          );
          request.once('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutS} s`)));
          request.once('error', failed);
          request.end(body);
        }),
    ),
  );
  const durationS = (performance.now() - started) / 1000;
  const completed = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
  const errors = Object.values(errorsByMessage).reduce((sum, count) => sum + count, 0);
  const firstError = Object.keys(errorsByMessage)[0];
  const result: BurstLoadResult = {
    completed,
    perSecond: completed / durationS,
    latency: summarise(histogram),
    non2xx: completed - Object.entries(statusCodes).reduce((sum, [code, count]) => sum + (code.startsWith('2') ? count : 0), 0),
    errors,
    statusCodes,
    durationS,
    ...(firstError ? { firstError } : {}),
    errorsByMessage,
    connectS,
    okBodies,
  };
  histogram.destroy();
  return result;
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
