import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { eventsPaths } from './openapi-events-paths.js';
import { healthPaths } from './openapi-health-paths.js';
import { orderByIdPaths } from './openapi-order-by-id-paths.js';
import { ordersPaths } from './openapi-orders-paths.js';
import { positionsPaths } from './openapi-positions-paths.js';

/** Every path of the API, its operations, parameters and answers. */
export function buildPaths(): ZodOpenApiPathsObject {
  return { ...ordersPaths(), ...orderByIdPaths(), ...positionsPaths(), ...eventsPaths(), ...healthPaths() };
}
