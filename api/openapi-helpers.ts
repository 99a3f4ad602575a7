import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject } from 'zod-openapi';
import { CANCEL_INTERNAL_ERROR_BODY, INTERNAL_ERROR_BODY } from './errors.js';
import { responseSchemas } from './openapi-schemas.js';
import { HTTP_METHODS } from './openapi-types.js';

// Building blocks of the document's paths (api/openapi-paths.ts and the api/openapi-*-paths.ts it assembles), in zod-openapi's terms.

export const JSON_TYPE = 'application/json';

type Headers = Record<string, z.ZodType>;
type Examples = Record<string, { summary: string; value: unknown }>;

/** A JSON answer: its description, body schema, headers (zod, optional ones not required) and examples. */
export function json(description: string, schema: z.ZodType, headers?: Headers, examples?: Examples): ZodOpenApiResponseObject {
  return {
    description,
    ...(headers && { headers: z.object(headers) }),
    content: { [JSON_TYPE]: { schema, ...(examples && { examples }) } },
  };
}

export const internalErrorResponse = json(
  `Internal failure. Exactly \`${JSON.stringify(INTERNAL_ERROR_BODY)}\`; nothing internal leaks.`,
  responseSchemas.InternalError,
);

/** A cancel's 500: `what` could not be recorded; its fixed body. */
export const cancelInternalError = (what: string) =>
  json(
    `${what} could not be recorded, or the database failed. Exactly \`${JSON.stringify(CANCEL_INTERNAL_ERROR_BODY)}\`; nothing internal leaks.`,
    responseSchemas.CancelInternalError,
  );

/** The `{id}` of /orders/{id}. */
export const orderIdParameter = z
  .uuid()
  .meta({ param: { name: 'id', in: 'path', description: "The order's id (a UUID; anything else answers 422)." } });

/** A response header's schema with its description (on the header, not its schema). */
export function header(schema: z.ZodType, description: string): z.ZodType {
  return schema.meta({ header: { description } });
}

/**
 * What OPTIONS answers on a path of the API: its methods, or a CORS preflight (api/app.ts); and
 * the path's own refusals (`refusals`: a malformed id answers 422, as GET does there).
 */
export function optionsOperation(
  operationId: string,
  path: string,
  { tag = 'orders', refusals = {} }: { tag?: string; refusals?: Record<number, ZodOpenApiResponseObject> } = {},
): ZodOpenApiOperationObject {
  return {
    operationId,
    tags: [tag],
    summary: 'Allowed methods, or a CORS preflight',
    description: `The methods \`${path}\` takes; a CORS preflight when \`CORS_ALLOWED_ORIGINS\` names the page's origin.`,
    responses: {
      200: { description: 'The methods this path takes, in `Allow`. No body.', headers: z.object({ Allow: z.string() }) },
      204: {
        description:
          'A CORS preflight (`Origin` and `Access-Control-Request-Method`) from an origin in `CORS_ALLOWED_ORIGINS`. ' +
          'A preflight from any other origin gets the 200 without CORS headers, which the browser refuses.',
        headers: z.object({
          'Access-Control-Allow-Origin': header(z.string(), "The request's `Origin`."),
          'Access-Control-Allow-Methods': z.string(),
          'Access-Control-Allow-Headers': z.string(),
          'Access-Control-Max-Age': z.string().regex(/^\d+$/),
        }),
      },
      ...refusals,
    },
  };
}

/** Headers every answer of the API carries (api/app.ts); the docs' static files may be cached. */
export const COMMON_HEADERS = {
  'X-Content-Type-Options': header(z.literal('nosniff').optional(), 'Always `nosniff`.'),
  'Cache-Control': header(z.literal('no-store').optional(), 'Always `no-store`: answers are not to be cached.'),
};

/** The paths with COMMON_HEADERS on every response (a response's own headers come after them). */
export function withCommonHeaders(paths: ZodOpenApiPathsObject): ZodOpenApiPathsObject {
  const withHeaders = (response: ZodOpenApiResponseObject): ZodOpenApiResponseObject => {
    const own = response.headers instanceof z.ZodObject ? response.headers.shape : {};
    return { ...response, headers: z.object({ ...COMMON_HEADERS, ...own }) };
  };
  const operationWithHeaders = (operation: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({
    ...operation,
    responses: Object.fromEntries(
      Object.entries(operation.responses).map(([status, response]) => [status, withHeaders(response as ZodOpenApiResponseObject)]),
    ),
  });
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([key, value]) => [
          key,
          (HTTP_METHODS as readonly string[]).includes(key) ? operationWithHeaders(value as ZodOpenApiOperationObject) : value,
        ]),
      ),
    ]),
  );
}

/** The security scheme of the API's keys (api/auth.ts), by its name in `components.securitySchemes`. */
export const API_KEY_SCHEME = 'apiKey';

const RATE_LIMIT_HEADERS = {
  'RateLimit-Policy': header(
    z.string().optional(),
    'The quota policies that apply (draft-ietf-httpapi-ratelimit-headers), e.g. `"per-account";q=200;w=60, "per-account-burst";q=50;w=600`.',
  ),
  RateLimit: header(z.string().optional(), 'What is left of the quota and when it resets, e.g. `"per-account";r=187;t=42`.'),
};

const unauthorized = json(
  'No API key, a malformed one, an unknown one or a revoked one. Nothing was done; the body of a POST was not read.',
  responseSchemas.Message,
  {
    'WWW-Authenticate': header(z.string(), '`Bearer`, with `error="invalid_token"` when a key was sent.'),
    ...RATE_LIMIT_HEADERS,
  },
);

const tooManyRequests = json(
  "Over the account's rate limit (all API processes together), or this address failed authentication too often.",
  responseSchemas.Message,
  { 'Retry-After': header(z.string().regex(/^\d+$/), 'Seconds until a request may succeed.'), ...RATE_LIMIT_HEADERS },
);

/**
 * The paths with the API key required on every operation but health and OPTIONS: those get
 * `security: []`, the others 401, 429 and the rate-limit headers on every answer.
 */
export function withAccessControl(paths: ZodOpenApiPathsObject): ZodOpenApiPathsObject {
  const secured = (operation: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({
    ...operation,
    security: [{ [API_KEY_SCHEME]: [] }],
    responses: {
      ...Object.fromEntries(
        Object.entries(operation.responses).map(([status, response]) => {
          const own = (response as ZodOpenApiResponseObject).headers;
          const headers = own instanceof z.ZodObject ? own.shape : {};
          return [status, { ...(response as ZodOpenApiResponseObject), headers: z.object({ ...RATE_LIMIT_HEADERS, ...headers }) }];
        }),
      ),
      401: unauthorized,
      429: tooManyRequests,
    },
  });
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      Object.fromEntries(
        Object.entries(item).map(([method, value]) => {
          if (!(HTTP_METHODS as readonly string[]).includes(method)) return [method, value];
          const operation = value as ZodOpenApiOperationObject;
          const open = method === 'options' || operation.tags?.includes('health');
          return [method, open ? { ...operation, security: [] } : secured(operation)];
        }),
      ),
    ]),
  );
}

/** An optional query or header parameter: its schema, and its description (on the parameter, not its schema). */
export function optionalParameter(schema: z.ZodType, description: string, param: { style?: 'form'; explode?: boolean } = {}) {
  return schema.optional().meta({ param: { description, ...param } });
}
