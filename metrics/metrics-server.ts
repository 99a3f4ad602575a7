import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** The paths of the metrics server; each takes GET (and HEAD). */
const METRICS_SERVER_PATHS = new Set(['/metrics', '/health/live']);
const ALLOW = 'GET, HEAD';

/**
 * A process's small HTTP server (the worker's, the ingestion process's): GET /metrics (its prom-client registry) and GET /health/live
 * (200 while `live()` says so, else 503), for Prometheus and the container's health check. HEAD
 * as GET without the body; OPTIONS 200 and any other method 405 on those paths, both with
 * `Allow`, as the API's routers answer; any other path 404.
 */
export async function startMetricsServer(options: {
  registry: Registry;
  port: number;
  host: string;
  live: () => boolean;
}): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    // Node sends no body to HEAD: it answers as GET.
    const get = request.method === 'GET' || request.method === 'HEAD';
    if (get && path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': options.registry.contentType });
          response.end(text);
        },
        () => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end('metrics collection failed\n');
        },
      );
      return;
    }
    if (get && path === '/health/live') {
      const live = options.live();
      response.writeHead(live ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: live ? 'ok' : 'stopping' }));
      return;
    }
    if (METRICS_SERVER_PATHS.has(path)) {
      if (request.method === 'OPTIONS') {
        response.writeHead(200, { allow: ALLOW, 'content-length': '0' });
        response.end();
        return;
      }
      response.writeHead(405, { allow: ALLOW, 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'Method Not Allowed' }));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ message: 'Not found' }));
  });
  server.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
