import { readFileSync } from 'node:fs';
import { HTTP_TIMEOUT_DEFAULTS } from '../config/config.js';
import { withCommonHeaders } from './openapi-helpers.js';
import { buildPaths } from './openapi-paths.js';
import { componentSchemas, requestSchemas, responseSchemas } from './openapi-schemas.js';
import type { OpenApiDocument } from './openapi-types.js';

export { ORDER_STATUS_DESCRIPTIONS, transitionsText } from './openapi-schemas.js';
export * from './openapi-types.js';

/**
 * The API's OpenAPI 3.1 document. Request bodies are generated from the zod schemas that validate
 * them (api/order-request.ts, `io: 'input'`); response bodies from the zod schemas of
 * api/openapi-schemas.ts (`io: 'output'`, closed objects), both with zod's own `z.toJSONSchema`
 * (JSON Schema 2020-12, the dialect of OpenAPI 3.1); the paths are in api/openapi-paths.ts. Served at /openapi.json (api/docs.ts), and every response the
 * tests receive through test/support/http.ts is checked against it.
 */

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export function buildOpenApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.1',
    info: {
      title: 'Order service',
      version: packageVersion(),
      description:
        "A brokerage's order service: `POST /orders` stores a stock order in PostgreSQL and starts a Temporal workflow " +
        'that places it at the stock exchange, retrying until it succeeds.\n\n' +
        '**Errors** are JSON: `{"message": …}`, or for a rule a request breaks `{"detail": [{"loc", "msg", "type"}]}` (422). ' +
        'A path the API does not have answers 404 and a method a path does not take 405 with `Allow` (any method: ' +
        '`TRACE` and `QUERY` too), both with `{"message": …}`.\n\n' +
        `**Slow clients.** The request's headers must arrive within \`HTTP_HEADERS_TIMEOUT_MS\` (${HTTP_TIMEOUT_DEFAULTS.headersMs} ms ` +
        `by default) of the connection or of the previous answer, the body may pause at most \`HTTP_BODY_IDLE_TIMEOUT_MS\` ` +
        `(${HTTP_TIMEOUT_DEFAULTS.bodyIdleMs} ms) and the whole request must arrive within \`HTTP_REQUEST_TIMEOUT_MS\` ` +
        `(${HTTP_TIMEOUT_DEFAULTS.requestMs} ms); otherwise 408 (with no body when the server itself cuts the request) and the connection is closed.\n\n` +
        '**Headers.** Every answer says `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`. **CORS** is off unless ' +
        '`CORS_ALLOWED_ORIGINS` lists origins: pages of those origins may call the API (preflight 204; ' +
        '`Access-Control-Allow-Origin` echoes the origin; no credentials; `X-Request-Id` and `Idempotent-Replayed` exposed); ' +
        'other origins get no CORS header, so their browser keeps the answer from the page.\n\n' +
        '**Numbers.** `limit_price` is read and written as an exact decimal, never through a binary float.',
    },
    tags: [
      { name: 'orders', description: 'Placing, reading, listing and cancelling orders.' },
      { name: 'health', description: 'Whether the process answers.' },
    ],
    paths: withCommonHeaders(buildPaths()),
    components: {
      schemas: { ...componentSchemas(requestSchemas, 'input'), ...componentSchemas(responseSchemas, 'output') },
    },
  };
}

let cached: OpenApiDocument | undefined;

/** The document, built once (callers must not modify it). */
export function openApiDocument(): OpenApiDocument {
  cached ??= buildOpenApiDocument();
  return cached;
}
