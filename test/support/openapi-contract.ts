import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import {
  HTTP_METHODS,
  type HttpMethod,
  type JsonSchema,
  type OpenApiOperation,
  type OpenApiPathItem,
  openApiDocument,
} from '../../api/openapi.js';

/**
 * Checks a response against the OpenAPI document (api/openapi.ts, built in-process): its method
 * and path must match a path template of the document, its status one of the operation's
 * responses, its Content-Type and JSON body that response's schema, its headers their schemas.
 * Paths and methods the document does not have may only answer 404/405/501 with `{message}`.
 * test/support/http.ts runs it on every response its helpers receive.
 */

export interface ObservedResponse {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, undefined if the text is empty or not JSON. */
  body: unknown;
}

const DOC_ID = 'openapi.json';
const JSON_MEDIA_TYPE = 'application/json';
/** What a path or a method the API does not have may answer (the router's 404/405, Koa's 501). */
const UNDOCUMENTED_ROUTE_STATUSES = new Set([404, 405, 501]);

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** A validator for the schema at this JSON pointer into the document (its parts unescaped). */
export function validatorAt(pointer: string[]): ValidateFunction {
  const fragment = pointer.map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
  const ref = `${DOC_ID}#/${fragment}`;
  let validate = validators.get(ref);
  if (!validate) {
    if (!ajv) {
      // strictRequired off: allOf branches name properties their sibling $ref defines.
      ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, multipleOfPrecision: 9 });
      ajvFormats.default(ajv);
      // The document's own keywords around its schemas: known to ajv, validated by nothing.
      ajv.addVocabulary([
        'openapi',
        'info',
        'tags',
        'paths',
        'components',
        'servers',
        'webhooks',
        'security',
        'externalDocs',
        'jsonSchemaDialect',
        // OpenAPI's own annotation in a schema (POST /orders' body): oneOf already decides.
        'discriminator',
      ]);
      ajv.addSchema(openApiDocument() as unknown as JsonSchema, DOC_ID);
    }
    try {
      validate = ajv.compile({ $ref: ref });
    } catch (error) {
      throw new Error(`The OpenAPI document's schema at ${ref} does not compile: ${(error as Error).message}`, { cause: error });
    }
    validators.set(ref, validate);
  }
  return validate;
}

function schemaErrors(pointer: string[], value: unknown): string | undefined {
  const validate = validatorAt(pointer);
  if (validate(value)) return undefined;
  return (validate.errors ?? [])
    .map(
      (error) =>
        `${error.instancePath || '(root)'} ${error.message ?? error.keyword}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`,
    )
    .join('; ');
}

function matchPath(pathname: string): string | undefined {
  const templates = Object.keys(openApiDocument().paths);
  const segments = pathname.split('/');
  const matches = (template: string) => {
    const parts = template.split('/');
    return (
      parts.length === segments.length && parts.every((part, i) => (/^\{[^}]+\}$/.test(part) ? segments[i] !== '' : part === segments[i]))
    );
  };
  // A literal path beats a template (/orders/search before /orders/{id}).
  return templates.find((template) => template === pathname) ?? templates.find(matches);
}

function mediaType(headers: Headers): string | undefined {
  return headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
}

/** Problems with a path or method the document does not have: only `{message}` 404/405/501 may answer. */
function undocumentedRouteProblems(response: ObservedResponse, what: string): string[] {
  if (!UNDOCUMENTED_ROUTE_STATUSES.has(response.status)) {
    return [`${what} is not in the OpenAPI document, yet it answered ${response.status} (only 404/405/501 with {message} are allowed)`];
  }
  if (mediaType(response.headers) !== JSON_MEDIA_TYPE) return [`${what}: Content-Type ${response.headers.get('content-type')} is not JSON`];
  const errors = schemaErrors(['components', 'schemas', 'Message'], response.body);
  return errors ? [`${what}: body is not {message}: ${errors}`] : [];
}

export function contractProblems(response: ObservedResponse): string[] {
  const { paths } = openApiDocument();
  const pathname = new URL(response.url).pathname;
  const method = response.method.toLowerCase();
  const template = matchPath(pathname);
  if (template === undefined) return undocumentedRouteProblems(response, `path ${pathname}`);

  const item: OpenApiPathItem = paths[template] ?? {};
  const isHead = method === 'head';
  const operationMethod = (isHead && !item.head ? 'get' : method) as HttpMethod;
  const operation: OpenApiOperation | undefined = HTTP_METHODS.includes(operationMethod) ? item[operationMethod] : undefined;
  if (!operation) return undocumentedRouteProblems(response, `${response.method.toUpperCase()} ${template}`);

  const documented = Object.keys(operation.responses);
  const status = String(response.status);
  const key = [status, `${status[0]}XX`, 'default'].find((candidate) => documented.includes(candidate));
  if (key === undefined) {
    return [`status ${status} is not documented for ${operationMethod.toUpperCase()} ${template} (documented: ${documented.join(', ')})`];
  }
  const documentedResponse = operation.responses[key]!;
  const at = ['paths', template, operationMethod, 'responses', key];
  const problems: string[] = [];

  for (const [name, header] of Object.entries(documentedResponse.headers ?? {})) {
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required) problems.push(`header ${name} is required`);
      continue;
    }
    const errors = schemaErrors([...at, 'headers', name, 'schema'], value);
    if (errors) problems.push(`header ${name}: ${value}: ${errors}`);
  }

  if (isHead) return problems; // no body to check
  const content = documentedResponse.content;
  if (!content) {
    if (response.text !== '') problems.push(`documented without a body, but got ${JSON.stringify(response.text.slice(0, 200))}`);
    return problems;
  }
  const type = mediaType(response.headers);
  if (type === undefined || !(type in content)) {
    problems.push(`Content-Type ${response.headers.get('content-type') ?? '(none)'} is not one of ${Object.keys(content).join(', ')}`);
    return problems;
  }
  if (type === JSON_MEDIA_TYPE) {
    if (response.body === undefined) {
      problems.push('body is not JSON');
      return problems;
    }
    const errors = schemaErrors([...at, 'content', type, 'schema'], response.body);
    if (errors) problems.push(`body does not match the schema: ${errors}`);
  }
  return problems;
}

/**
 * Throws (failing the calling test) if the response is not in the document.
 * OPENAPI_CONTRACT=report only prints the problems, to see every mismatch of a run at once.
 */
export function assertInContract(response: ObservedResponse): void {
  const problems = contractProblems(response);
  if (problems.length === 0) return;
  const message =
    `Response not in the OpenAPI document (api/openapi.ts): ${response.method.toUpperCase()} ${new URL(response.url).pathname} → ` +
    `${response.status}\n  - ${problems.join('\n  - ')}\n  body: ${response.text.slice(0, 1000)}`;
  if (process.env.OPENAPI_CONTRACT === 'report') console.warn(`[openapi-contract] ${message}`);
  else throw new Error(message);
}
