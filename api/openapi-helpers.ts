import { INTERNAL_ERROR_BODY } from './errors.js';
import { ref } from './openapi-schemas.js';
import {
  HTTP_METHODS,
  type JsonSchema,
  type OpenApiHeader,
  type OpenApiOperation,
  type OpenApiParameter,
  type OpenApiPathItem,
  type OpenApiResponse,
} from './openapi-types.js';

// Building blocks of the document's paths (api/openapi-paths.ts).

export const JSON_TYPE = 'application/json';

export function json(description: string, schema: JsonSchema, headers?: Record<string, OpenApiHeader>): OpenApiResponse {
  return { description, ...(headers ? { headers } : {}), content: { [JSON_TYPE]: { schema } } };
}

export const internalErrorResponse = json(
  `Internal failure. Exactly \`${JSON.stringify(INTERNAL_ERROR_BODY)}\`; nothing internal leaks.`,
  ref('InternalError'),
);

export const orderIdParameter: OpenApiParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: "The order's id (a UUID; anything else answers 422).",
  schema: { type: 'string', format: 'uuid' },
};

/** What OPTIONS answers on a path of the API: its methods, or a CORS preflight (api/app.ts). */
export function optionsOperation(operationId: string, path: string): OpenApiOperation {
  return {
    operationId,
    tags: ['orders'],
    summary: 'Allowed methods, or a CORS preflight',
    description: `The methods \`${path}\` takes; a CORS preflight when \`CORS_ALLOWED_ORIGINS\` names the page's origin.`,
    responses: {
      200: {
        description: 'The methods this path takes, in `Allow`. No body.',
        headers: { Allow: { required: true, schema: { type: 'string' } } },
      },
      204: {
        description:
          'A CORS preflight (`Origin` and `Access-Control-Request-Method`) from an origin in `CORS_ALLOWED_ORIGINS`. ' +
          'A preflight from any other origin gets the 200 without CORS headers, which the browser refuses.',
        headers: {
          'Access-Control-Allow-Origin': { description: "The request's `Origin`.", required: true, schema: { type: 'string' } },
          'Access-Control-Allow-Methods': { required: true, schema: { type: 'string' } },
          'Access-Control-Allow-Headers': { required: true, schema: { type: 'string' } },
          'Access-Control-Max-Age': { required: true, schema: { type: 'string', pattern: '^\\d+$' } },
        },
      },
    },
  };
}

/** Headers every answer of the API carries (api/app.ts); the docs' static files may be cached. */
export const COMMON_HEADERS: Record<string, OpenApiHeader> = {
  'X-Content-Type-Options': { description: 'Always `nosniff`.', schema: { type: 'string', const: 'nosniff' } },
  'Cache-Control': { description: 'Always `no-store`: answers are not to be cached.', schema: { type: 'string', const: 'no-store' } },
};

/** The paths with COMMON_HEADERS on every response (a response's own headers come after them). */
export function withCommonHeaders(paths: Record<string, OpenApiPathItem>): Record<string, OpenApiPathItem> {
  const withHeaders = (operation: OpenApiOperation): OpenApiOperation => ({
    ...operation,
    responses: Object.fromEntries(
      Object.entries(operation.responses).map(([status, response]) => [
        status,
        { ...response, headers: { ...COMMON_HEADERS, ...response.headers } },
      ]),
    ),
  });
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([key, value]) => [
          key,
          (HTTP_METHODS as readonly string[]).includes(key) ? withHeaders(value as OpenApiOperation) : value,
        ]),
      ) as OpenApiPathItem,
    ]),
  );
}

export function enumParameter(name: string, values: readonly string[], description: string): OpenApiParameter {
  return { name, in: 'query', required: false, description, schema: { type: 'string', enum: [...values] } };
}
