import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { json, optionsOperation } from './openapi-helpers.js';
import { responseSchemas as schemas } from './openapi-schemas.js';

/** /health/live and /health/ready. */
export function healthPaths(): ZodOpenApiPathsObject {
  return {
    '/health/live': {
      get: {
        operationId: 'live',
        tags: ['health'],
        summary: 'Liveness',
        description: 'The process answers. Says nothing about PostgreSQL or Temporal.',
        responses: { 200: json('Alive.', schemas.Liveness) },
      },
      options: optionsOperation('liveOptions', '/health/live', { tag: 'health' }),
    },
    '/health/ready': {
      get: {
        operationId: 'ready',
        tags: ['health'],
        summary: 'Readiness',
        description:
          'PostgreSQL reachable with every migration applied, and Temporal reachable. Turns 503 at once on SIGTERM. ' +
          'Prometheus metrics are not on this port: `GET /metrics` on the management port (`MANAGEMENT_PORT`, 9463 by default, loopback unless `MANAGEMENT_HOST` says otherwise).',
        responses: {
          200: json('Ready to take traffic.', schemas.Readiness),
          503: json('Not ready: a check failed, or the process is shutting down.', schemas.Readiness),
        },
      },
      options: optionsOperation('readyOptions', '/health/ready', { tag: 'health' }),
    },
  };
}
