import { Validator } from '@seriousme/openapi-schema-validator';
import { parse as parseLossless } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_INTERNAL_ERROR_BODY, INTERNAL_ERROR_BODY } from '../../api/errors.js';
import { validateKey } from '../../api/idempotency.js';
import { buildOpenApiDocument, HTTP_METHODS, type OpenApiDocument, ORDER_STATUS_DESCRIPTIONS } from '../../api/openapi.js';
import { orderRequestSchema, parseOrderRequest } from '../../api/order-request.js';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { IMMEDIATE_TIME_IN_FORCE, ORDER_STATUSES, ORDER_TYPES } from '../../domain/order.js';
import { testConfig } from '../support/config.js';
import { startAppWithFakes } from '../support/fakes.js';
import { postJson, request } from '../support/http.js';
import { contractProblems, type ObservedResponse, validatorAt } from '../support/openapi-contract.js';
import { uniqueInstrument } from '../support/orders.js';
import { waitFor } from '../support/wait.js';

// The OpenAPI document (api/openapi.ts) and the docs page (api/docs.ts): the document is served,
// is valid OpenAPI 3.1, has every route, status and error body of the API, and its request schema
// agrees with the validator it is generated from; /docs loads nothing from another origin.
// test/support/http.ts holds every response of the other tests to the document.

let app: { url: string; close(): Promise<void> };
let baseUrl: string;
const document = buildOpenApiDocument();

// Neither the document nor the docs touch the database or Temporal: every dependency a fake.
beforeAll(async () => {
  app = await startAppWithFakes();
  baseUrl = app.url;
});
afterAll(() => app.close());

describe('GET /openapi.json', () => {
  let served: OpenApiDocument;

  beforeAll(async () => {
    const response = await fetch(`${baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    served = (await response.json()) as OpenApiDocument;
  });

  it('serves the document built from the schemas, as OpenAPI 3.1', () => {
    expect(served).toEqual(JSON.parse(JSON.stringify(document)));
    expect(served.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served) as unknown as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has schemas that all compile as JSON Schema 2020-12 (ajv, strict)', () => {
    for (const name of Object.keys(served.components.schemas)) validatorAt(['components', 'schemas', name]);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        if (!operation) continue;
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const type of Object.keys(response.content ?? {}))
            validatorAt(['paths', path, method, 'responses', status, 'content', type, 'schema']);
          for (const header of Object.keys(response.headers ?? {}))
            validatorAt(['paths', path, method, 'responses', status, 'headers', header, 'schema']);
        }
      }
    }
  });

  it('has every route with exactly its statuses', () => {
    const routes = Object.entries(served.paths).flatMap(([path, item]) =>
      HTTP_METHODS.filter((method) => item[method]).map((method) => [
        `${method.toUpperCase()} ${path}`,
        Object.keys(item[method]!.responses),
      ]),
    );
    expect(Object.fromEntries(routes)).toEqual({
      'POST /orders': ['201', '400', '401', '408', '409', '413', '415', '422', '429', '500'],
      'GET /orders': ['200', '401', '422', '429', '500'],
      'DELETE /orders': ['200', '202', '401', '422', '429', '500'],
      'OPTIONS /orders': ['200', '204'],
      'OPTIONS /orders/{id}': ['200', '204', '422'],
      'GET /orders/{id}/executions': ['200', '401', '404', '422', '429', '500'],
      'OPTIONS /orders/{id}/executions': ['200', '204', '422'],
      'GET /orders/{id}': ['200', '401', '404', '422', '429', '500'],
      'DELETE /orders/{id}': ['200', '202', '401', '404', '409', '422', '429', '500'],
      'GET /positions': ['200', '401', '422', '429', '500'],
      'OPTIONS /positions': ['200', '204'],
      'GET /positions/{instrument}': ['200', '401', '404', '422', '429', '500'],
      'OPTIONS /positions/{instrument}': ['200', '204'],
      'PATCH /orders/{id}': ['200', '202', '400', '401', '404', '408', '409', '413', '415', '422', '429', '500'],
      'GET /events': ['200', '400', '401', '422', '429', '500', '503'],
      'GET /health/live': ['200'],
      'OPTIONS /health/live': ['200', '204'],
      'GET /health/ready': ['200', '503'],
      'OPTIONS /health/ready': ['200', '204'],
    });
  });

  it('declares the bearer scheme (Swagger UI\'s "Authorize"), required everywhere but health and OPTIONS', () => {
    const document = served as unknown as {
      security: unknown;
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.security).toEqual([{ apiKey: [] }]);
    expect(document.paths['/orders']!.post!.security).toEqual([{ apiKey: [] }]);
    expect(document.paths['/events']!.get!.security).toEqual([{ apiKey: [] }]);
    expect(document.paths['/health/ready']!.get!.security).toEqual([]);
    expect(document.paths['/orders']!.options!.security).toEqual([]);
  });

  it('describes each answer with its body', () => {
    const schemaOf = (path: string, method: 'get' | 'post' | 'delete', status: string) =>
      served.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema;
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    expect(schemaOf('/orders', 'post', '201')).toEqual(ref('Order'));
    for (const status of ['400', '413', '415']) expect(schemaOf('/orders', 'post', status)).toEqual(ref('Message'));
    expect(schemaOf('/orders', 'post', '409')).toEqual({ oneOf: [ref('ClientOrderIdTaken'), ref('Message')] });
    expect(schemaOf('/orders', 'post', '422')).toEqual({ oneOf: [ref('ValidationError'), ref('Message')] });
    expect(schemaOf('/orders', 'get', '200')).toEqual(ref('OrderList'));
    expect(schemaOf('/orders/{id}', 'get', '404')).toEqual(ref('Message'));
    expect(schemaOf('/orders/{id}', 'delete', '409')).toEqual(ref('CancelConflict'));
    for (const status of ['200', '202']) expect(schemaOf('/orders', 'delete', status)).toEqual(ref('CancelAllResult'));
    expect(schemaOf('/orders', 'delete', '500')).toEqual(ref('CancelInternalError'));
    // DELETE's own internal failure speaks of cancelling; the seed's body is POST's (and the reads').
    expect(schemaOf('/orders/{id}', 'delete', '500')).toEqual(ref('CancelInternalError'));
    expect(served.components.schemas.CancelInternalError).toMatchObject({
      properties: { message: { const: CANCEL_INTERNAL_ERROR_BODY.message } },
    });
    for (const [path, method] of [
      ['/orders', 'post'],
      ['/orders', 'get'],
      ['/orders/{id}', 'get'],
      ['/orders/{id}', 'delete'],
      ['/orders', 'delete'],
    ] as const) {
      if (method !== 'delete') expect(schemaOf(path, method, '500')).toEqual(ref('InternalError'));
      if (!(path === '/orders' && method === 'post')) expect(schemaOf(path, method, '422')).toEqual(ref('ValidationError'));
    }
    expect(served.components.schemas.InternalError).toMatchObject({
      properties: { message: { const: INTERNAL_ERROR_BODY.message } },
      required: ['message'],
      additionalProperties: false,
    });
    expect(served.paths['/orders']?.post?.responses['201']?.headers?.['Idempotent-Replayed']).toBeDefined();
    expect(served.paths['/health/live']?.get?.responses['200']?.content?.['application/json']?.schema).toEqual(ref('Liveness'));
  });

  it("documents the request body as one closed schema per order type, told apart by `type`, with the validator's fields", () => {
    const { OrderRequest, MarketOrderRequest, LimitOrderRequest, StopOrderRequest, StopLimitOrderRequest, Order, OrderStatus } =
      served.components.schemas;
    const ref = (name: string) => `#/components/schemas/${name}`;
    expect(OrderRequest).toMatchObject({
      oneOf: [
        { $ref: ref('MarketOrderRequest') },
        { $ref: ref('LimitOrderRequest') },
        { $ref: ref('StopOrderRequest') },
        { $ref: ref('StopLimitOrderRequest') },
      ],
      discriminator: {
        propertyName: 'type',
        mapping: {
          market: ref('MarketOrderRequest'),
          limit: ref('LimitOrderRequest'),
          stop: ref('StopOrderRequest'),
          stop_limit: ref('StopLimitOrderRequest'),
        },
      },
    });
    // Each type requires its prices and takes the others only as absent or null.
    expect(StopOrderRequest?.required).toEqual(expect.arrayContaining(['stop_price']));
    expect(StopOrderRequest?.properties).toMatchObject({ limit_price: { type: 'null' } });
    expect(StopLimitOrderRequest?.required).toEqual(expect.arrayContaining(['stop_price', 'limit_price']));
    expect(MarketOrderRequest?.properties).toMatchObject({ stop_price: { type: 'null' } });
    expect(LimitOrderRequest?.properties).toMatchObject({ stop_price: { type: 'null' } });
    for (const [schema, type] of [
      [MarketOrderRequest, 'market'],
      [LimitOrderRequest, 'limit'],
      [StopOrderRequest, 'stop'],
      [StopLimitOrderRequest, 'stop_limit'],
    ] as const) {
      expect(schema).toMatchObject({ type: 'object', additionalProperties: false, properties: { type: { const: type } } });
      expect(Object.keys(schema?.properties as object)).toEqual(Object.keys(orderRequestSchema.shape));
      expect(schema?.properties).toMatchObject({ quantity: { type: 'integer', minimum: 1, maximum: 2147483647 } });
    }
    expect(MarketOrderRequest?.required).toEqual(expect.arrayContaining(['type', 'side', 'instrument', 'quantity']));
    expect(MarketOrderRequest?.required).not.toContain('limit_price');
    expect(MarketOrderRequest?.properties).toMatchObject({ limit_price: { type: 'null' } });
    expect(LimitOrderRequest?.required).toEqual(expect.arrayContaining(['type', 'side', 'instrument', 'limit_price', 'quantity']));
    expect(LimitOrderRequest?.properties).toMatchObject({
      limit_price: { anyOf: [{ type: 'number', exclusiveMinimum: 0, multipleOf: 0.01 }, { type: 'string' }] },
    });
    expect(Order?.required).toEqual([
      'id',
      'client_order_id',
      'created_at',
      'type',
      'side',
      'instrument',
      'limit_price',
      'stop_price',
      'quantity',
      'time_in_force',
      'status',
      'placed_at',
      'rejected_reason',
      'cancelled_at',
      'filled_quantity',
      'average_fill_price',
      'filled_at',
      'expires_at',
      'expired_at',
      'workflow_id',
    ]);
    expect(Order?.properties).toHaveProperty('events');
    expect(OrderStatus?.enum).toEqual([...ORDER_STATUSES]);
    for (const status of ORDER_STATUSES) expect(OrderStatus?.description).toContain(`\`${status}\`: ${ORDER_STATUS_DESCRIPTIONS[status]}`);
  });

  it('documents the Idempotency-Key header and the list parameters', () => {
    const post = served.paths['/orders']?.post;
    expect(post?.parameters).toEqual([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]);
    expect(post?.parameters?.[0]?.required).not.toBe(true);
    expect(post?.requestBody?.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/OrderRequest' });
    const list = served.paths['/orders']?.get?.parameters ?? [];
    expect(list.map((parameter) => parameter.name)).toEqual([
      'status',
      'instrument',
      'side',
      'type',
      'created_from',
      'created_to',
      'client_order_id',
      'limit',
      'cursor',
    ]);
    expect(list.find((parameter) => parameter.name === 'limit')?.schema).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 500,
      default: 50,
    });
    expect(list.find((parameter) => parameter.name === 'status')).toMatchObject({
      style: 'form',
      explode: true,
      schema: { type: 'array' },
    });
    expect(served.paths['/orders/{id}']?.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
  });
});

describe('the request schema agrees with the validator it documents', () => {
  const validate = () => validatorAt(['components', 'schemas', 'OrderRequest']);
  const serverAccepts = (json: string) => {
    try {
      parseOrderRequest(parseLossless(json));
      return true;
    } catch {
      return false;
    }
  };
  const order = (fields: Record<string, unknown>) =>
    JSON.stringify({ type: 'limit', side: 'buy', instrument: 'US0378331005', limit_price: 187.25, quantity: 10, ...fields });
  const without = (field: string) => {
    const body: Record<string, unknown> = JSON.parse(order({}));
    delete body[field];
    return JSON.stringify(body);
  };

  const samples: [string, string][] = [
    ['a limit order', order({})],
    ['a market order', order({ type: 'market', limit_price: undefined })],
    ['a market order with a null price', order({ type: 'market', limit_price: null })],
    ['a price as a string', order({ limit_price: '187.25' })],
    ['a price of 0.1', order({ limit_price: 0.1 })],
    ['a price of 0.01', order({ limit_price: 0.01 })],
    ['a price of "0.10"', order({ limit_price: '0.10' })],
    ['a price with 3 decimals', order({ limit_price: 0.105 })],
    ['a price with 3 decimals (string)', order({ limit_price: '0.105' })],
    ['a price of 0', order({ limit_price: 0 })],
    ['a price of 10000000000000000 (a number)', order({ limit_price: 1e16 })],
    ['a price of 9999999999999998 (a number)', order({ limit_price: 9999999999999998 })],
    ['a price of "9999999999999999.99"', order({ limit_price: '9999999999999999.99' })],
    ['a price of "10000000000000000"', order({ limit_price: '10000000000000000' })],
    ['a price of "0.00"', order({ limit_price: '0.00' })],
    ['a negative price', order({ limit_price: -1.5 })],
    ['a price "abc"', order({ limit_price: 'abc' })],
    ['a price "1e2"', order({ limit_price: '1e2' })],
    ['a price "NaN"', order({ limit_price: 'NaN' })],
    ['a price true', order({ limit_price: true })],
    ['a market order with a price', order({ type: 'market' })],
    ['a limit order without a price', without('limit_price')],
    ['a limit order with a null price', order({ limit_price: null })],
    ['type "stop"', order({ type: 'stop' })],
    ['side "hold"', order({ side: 'hold' })],
    ['an 11-character instrument', order({ instrument: 'US037833100' })],
    ['a 13-character instrument', order({ instrument: 'US03783310050' })],
    ['12 astral characters', order({ instrument: '😀'.repeat(12) })],
    ['a numeric instrument', order({ instrument: 123456789012 })],
    ['quantity 1', order({ quantity: 1 })],
    ['quantity 2147483647', order({ quantity: 2147483647 })],
    ['quantity 2147483648', order({ quantity: 2147483648 })],
    ['quantity 0', order({ quantity: 0 })],
    ['quantity 1.5', order({ quantity: 1.5 })],
    ['quantity "5"', order({ quantity: '5' })],
    ['no quantity', without('quantity')],
    ['no type', without('type')],
    ['an extra field', order({ limitprice: 1 })],
    ['an array', '[]'],
    ['a number', '5'],
  ];

  it.each(samples)('%s: the document and the server agree', (_name, json) => {
    const documentAccepts = validate()(JSON.parse(json));
    expect(documentAccepts, `document ${documentAccepts ? 'accepts' : 'refuses'} ${json}`).toBe(serverAccepts(json));
  });

  it('leaves out only forms the server also accepts (a sign, spaces, trailing zeros)', () => {
    // Narrower on purpose: the document names the plain form; the server also trims and takes a sign.
    for (const price of ['+1.50', ' 1.50 ', '1.500']) {
      const json = order({ limit_price: price });
      expect(validate()(JSON.parse(json)), json).toBe(false);
      expect(serverAccepts(json), json).toBe(true);
    }
    // The largest price as a JSON number is 1e16 as a binary float, as is a price the server refuses.
    const largest = order({ limit_price: 0 }).replace('"limit_price":0', '"limit_price":9999999999999999.99');
    expect(validate()(JSON.parse(largest)), largest).toBe(false);
    expect(serverAccepts(largest), largest).toBe(true);
  });

  it('documents the Idempotency-Key format the server checks', () => {
    const parameter = document.paths['/orders']?.post?.parameters?.find((candidate) => candidate.name === 'Idempotency-Key');
    const pattern = new RegExp(String(parameter?.schema.pattern), 'u');
    for (const key of ['a', 'k'.repeat(255), 'k'.repeat(256), '', 'with space', 'tab\t', 'é', '!~', 'order-1:retry']) {
      let serverAccepts = true;
      try {
        validateKey(key);
      } catch {
        serverAccepts = false;
      }
      expect(pattern.test(key), JSON.stringify(key)).toBe(serverAccepts);
    }
  });
});

describe('the contract check of test/support/http.ts', () => {
  const observed = (
    method: string,
    path: string,
    status: number,
    body: unknown,
    contentType = 'application/json; charset=utf-8',
  ): ObservedResponse => ({
    method,
    url: `http://127.0.0.1:1${path}`,
    status,
    headers: new Headers(contentType ? { 'content-type': contentType } : {}),
    text: body === undefined ? '' : JSON.stringify(body),
    body,
  });
  const order = {
    id: '4f9c1a52-3a5e-4f0e-9a51-8d0f0e7c9b11',
    created_at: '2026-11-23T20:35:52.234Z',
    type: 'limit',
    side: 'buy',
    instrument: 'US0378331005',
    limit_price: 187.25,
    stop_price: null,
    quantity: 10,
    status: 'accepted',
    placed_at: null,
    rejected_reason: null,
    cancelled_at: null,
    client_order_id: null,
    time_in_force: 'day',
    filled_quantity: 0,
    average_fill_price: null,
    filled_at: null,
    expires_at: null,
    expired_at: null,
    workflow_id: 'order-4f9c1a52-3a5e-4f0e-9a51-8d0f0e7c9b11',
  };

  it('passes documented answers', () => {
    expect(contractProblems(observed('POST', '/orders', 201, order))).toEqual([]);
    expect(
      contractProblems(
        observed('GET', `/orders/${order.id}`, 200, {
          ...order,
          events: [{ status: 'pending', at: order.created_at, reason: null, actor: 'system' }],
        }),
      ),
    ).toEqual([]);
    expect(contractProblems(observed('GET', '/orders?status=placed', 200, { data: [order], next: null }))).toEqual([]);
    expect(
      contractProblems(observed('POST', '/orders', 422, { message: 'Idempotency-Key was already used with a different request body' })),
    ).toEqual([]);
    expect(contractProblems(observed('POST', '/orders', 500, INTERNAL_ERROR_BODY))).toEqual([]);
    expect(contractProblems(observed('DELETE', '/orders/x', 409, { message: 'placed', status: 'placed' }))).toEqual([]);
    expect(contractProblems(observed('GET', '/no-such-route', 404, { message: 'No route for GET /no-such-route' }))).toEqual([]);
    expect(contractProblems(observed('PUT', '/orders', 405, { message: 'Method Not Allowed' }))).toEqual([]);
  });

  it('fails answers the document does not have', () => {
    const problems = (response: ObservedResponse) => contractProblems(response).join('\n');
    expect(problems(observed('GET', '/orders/x', 418, { message: 'teapot' }))).toMatch(
      /status 418 is not documented for GET \/orders\/\{id\} \(documented: 200, 401, 404, 422, 429, 500\)/,
    );
    expect(problems(observed('POST', '/orders', 201, { ...order, extra: 1 }))).toMatch(/must NOT have additional properties/);
    expect(problems(observed('POST', '/orders', 201, { ...order, limit_price: 187.255 }))).toMatch(/limit_price/);
    expect(problems(observed('POST', '/orders', 201, { ...order, status: 'done' }))).toMatch(/status/);
    expect(problems(observed('POST', '/orders', 500, { message: 'database down' }))).toMatch(/const/);
    expect(problems(observed('POST', '/orders', 422, { detail: [] }))).toMatch(/fewer than 1/);
    expect(problems(observed('POST', '/orders', 201, order, 'text/plain'))).toMatch(/Content-Type text\/plain/);
    expect(problems(observed('DELETE', `/orders/${order.id}`, 200, { ...order, events: [] }))).toMatch(/const|equal to constant/);
    expect(problems(observed('GET', '/no-such-route', 200, { ok: true }))).toMatch(/not in the OpenAPI document/);
    expect(problems(observed('PUT', '/orders', 200, order))).toMatch(/PUT \/orders is not in the OpenAPI document/);
  });
});

describe('the documented examples', () => {
  /** Every example of the document, with the JSON pointer of the schema it illustrates. */
  const examples = Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      if (!operation) return [];
      const bodies = Object.entries(operation.requestBody?.content ?? {}).map(([type, media]) => ({
        where: `${method.toUpperCase()} ${path} request`,
        schema: ['paths', path, method, 'requestBody', 'content', type, 'schema'],
        examples: media.examples ?? {},
      }));
      const answers = Object.entries(operation.responses).flatMap(([status, response]) =>
        Object.entries(response.content ?? {}).map(([type, media]) => ({
          where: `${method.toUpperCase()} ${path} ${status}`,
          schema: ['paths', path, method, 'responses', status, 'content', type, 'schema'],
          examples: media.examples ?? {},
        })),
      );
      return [...bodies, ...answers].flatMap(({ where, schema, examples }) =>
        Object.entries(examples).map(([name, example]) => ({ name: `${where}: ${name}`, schema, value: example.value })),
      );
    }),
  );
  const post = document.paths['/orders']?.post;
  const requests = post?.requestBody?.content['application/json']?.examples ?? {};
  const answers = post?.responses['201']?.content?.['application/json']?.examples ?? {};

  it('has a request example for each order type and each immediate time in force, each with its 201 answer', () => {
    expect(Object.keys(requests).sort()).toEqual([...ORDER_TYPES, ...IMMEDIATE_TIME_IN_FORCE].sort());
    expect(Object.keys(answers).sort()).toEqual(Object.keys(requests).sort());
    for (const [name, { value }] of Object.entries(requests)) {
      expect(value, name).toMatchObject((ORDER_TYPES as readonly string[]).includes(name) ? { type: name } : { time_in_force: name });
    }
    // As the API answers: status accepted, a limit order with its price, a market order with null.
    expect(answers.limit?.value).toMatchObject({ type: 'limit', status: 'accepted', limit_price: requests.limit?.value.limit_price });
    expect(answers.market?.value).toMatchObject({ type: 'market', status: 'accepted', limit_price: null, stop_price: null });
    expect(answers.stop?.value).toMatchObject({ type: 'stop', limit_price: null, stop_price: requests.stop?.value.stop_price });
    expect(answers.stop_limit?.value).toMatchObject({
      type: 'stop_limit',
      limit_price: requests.stop_limit?.value.limit_price,
      stop_price: requests.stop_limit?.value.stop_price,
    });
  });

  it.each(examples.map((example) => [example.name, example] as const))('%s validates against its own schema', (_name, example) => {
    const validate = validatorAt(example.schema);
    expect(validate(example.value), JSON.stringify(validate.errors)).toBe(true);
  });

  it('has request examples the server accepts', () => {
    for (const [name, { value }] of Object.entries(requests)) {
      expect(() => parseOrderRequest(parseLossless(JSON.stringify(value))), name).not.toThrow();
    }
  });

  describe('against the live API (PostgreSQL and Temporal behind it)', () => {
    let api: ApiServer;
    beforeAll(async () => {
      api = await startApiServer(testConfig(), createLogger('api', 'silent'));
    });
    afterAll(() => api?.close());

    /** The shape of a JSON value: its keys (in order) and the JSON type of each value, recursively. */
    const shape = (value: unknown): unknown => {
      if (value === null) return 'null';
      if (Array.isArray(value)) return value.map(shape);
      if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shape(item)]));
      return typeof value;
    };

    it.each(Object.keys(requests))('POST of the %s example answers its documented 201, key for key and type for type', async (name) => {
      // postJson holds every answer to the document (test/support/http.ts). A fresh API's first
      // start may miss its budget on a busy machine (a documented 500: never placed, retry).
      const response = await waitFor(
        async () => {
          const answer = await postJson(`${api.url}/orders`, requests[name]!.value);
          return answer.status === 500 ? undefined : answer;
        },
        60_000,
        `POST of the ${name} example to answer other than 500`,
      );
      expect(response.status, response.text).toBe(201);
      expect(shape(response.body)).toEqual(shape(answers[name]!.value));
      const { id: _id, created_at: _created, workflow_id: _workflow, ...stated } = answers[name]!.value as Record<string, unknown>;
      expect(response.body).toMatchObject(stated);
    });

    it('DELETE /orders answers its documented 200 and 202, key for key and type for type', {
      timeout: 60_000,
    }, async () => {
      const cancelAll = document.paths['/orders']?.delete?.responses;
      const decided = cancelAll?.['200']?.content?.['application/json']?.examples ?? {};
      const pending = cancelAll?.['202']?.content?.['application/json']?.examples ?? {};
      // Only this test's instrument: the demo account's other open orders are other tests'.
      const instrument = uniqueInstrument('OA');
      const url = `${api.url}/orders?instrument=${instrument}`;
      const none = await request(url, { method: 'DELETE' });
      expect(none.status, none.text).toBe(200);
      expect(none.body).toEqual(decided.nothingOpen?.value);

      // No worker serves this API's task queue: the cancel is recorded, never decided in the budget.
      const placed = await waitFor(
        async () => {
          const answer = await postJson(`${api.url}/orders`, { ...requests.market!.value, instrument });
          return answer.status === 500 ? undefined : answer;
        },
        60_000,
        'POST of an order to answer other than 500',
      );
      expect(placed.status, placed.text).toBe(201);
      const asked = await request(url, { method: 'DELETE' });
      expect(asked.status, asked.text).toBe(202);
      expect(shape(asked.body)).toEqual({ ...(shape(pending.pending?.value) as object), cancelled: [] });
      expect(asked.body).toEqual({ cancelled: [], not_cancelled: [], pending: [placed.body.id], has_more: false });
    });
  });
});

describe('GET /docs', () => {
  const get = (path: string) => fetch(new URL(path, baseUrl), { redirect: 'manual' });
  /** Every src and href of an HTML page. */
  const references = (html: string) => [...html.matchAll(/\s(?:src|href)\s*=\s*["']([^"']*)["']/gi)].map((match) => match[1]!);
  const sameOrigin = (reference: string, base: string) => new URL(reference, base).origin === new URL(baseUrl).origin;

  it('serves an HTML page whose every reference is relative and answers 200', async () => {
    const response = await get('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/\bsrc\s*=\s*["']?\s*\/\//i);
    const refs = references(html);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const reference of refs) {
      expect(reference, reference).not.toMatch(/^([a-z][a-z0-9+.-]*:|\/\/)/i); // relative: no scheme, no host
      const asset = await get(new URL(reference, `${baseUrl}/docs`).pathname);
      expect(asset.status, reference).toBe(200);
    }
  });

  it('keeps the browser to its own origin (Content-Security-Policy)', async () => {
    const csp = (await get('/docs')).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/https?:|\*/);
    for (const directive of ['script-src', 'style-src', 'img-src', 'connect-src']) expect(csp).toMatch(new RegExp(`${directive} 'self'`));
  });

  it('loads its scripts and styles from here, and they load nothing from elsewhere', async () => {
    const pageUrl = `${baseUrl}/docs`;
    const html = await (await get('/docs')).text();
    const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((match) => new URL(match[1]!, pageUrl));
    const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((match) => new URL(match[1]!, pageUrl));
    expect(scripts.map((url) => url.pathname)).toEqual(['/docs/swagger-ui-bundle.js', '/docs/swagger-initializer.js']);
    expect(styles.length).toBeGreaterThan(0);

    // Our own initializer: no absolute URL at all; the spec from this origin; no online validator.
    const initializer = await (await get('/docs/swagger-initializer.js')).text();
    expect(initializer).not.toMatch(/https?:\/\/|\/\//);
    expect(initializer).toMatch(/validatorUrl:\s*null/);
    const specUrl = /url:\s*'([^']+)'/.exec(initializer)?.[1];
    expect(specUrl).toBe('openapi.json');
    const spec = await fetch(new URL(specUrl!, pageUrl));
    expect(spec.status).toBe(200);
    expect(((await spec.json()) as OpenApiDocument).openapi).toMatch(/^3\.1\./);

    // What the browser loads from the vendor files: source maps, CSS url() and @import.
    const checked: string[] = [];
    for (const url of [...scripts, ...styles]) {
      const response = await fetch(url);
      expect(response.status, url.pathname).toBe(200);
      expect(response.headers.get('content-type'), url.pathname).toMatch(
        url.pathname.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
      );
      const text = await response.text();
      const loaded = [...text.matchAll(/^[/][/*][#@] sourceMappingURL=([^\s*]+)/gm)].map((match) => match[1]!);
      if (url.pathname.endsWith('.css')) {
        loaded.push(
          ...[...text.matchAll(/url\(\s*["']?([^"')]+)/g)].map((match) => match[1]!).filter((ref) => !ref.startsWith('data:')),
          ...[...text.matchAll(/@import\s+(?:url\()?["']?([^"');\s]+)/g)].map((match) => match[1]!),
        );
      }
      for (const reference of loaded) {
        expect(sameOrigin(reference, url.href), `${url.pathname} loads ${reference}`).toBe(true);
        expect((await fetch(new URL(reference, url))).status, `${url.pathname} loads ${reference}`).toBe(200);
        checked.push(new URL(reference, url).pathname);
      }
    }
    expect(checked).toContain('/docs/swagger-ui.css.map');
  });

  it('sends /docs/ to /docs and answers 404 for files it does not serve', async () => {
    const redirect = await get('/docs/');
    expect(redirect.status).toBe(302);
    expect(new URL(redirect.headers.get('location')!, `${baseUrl}/docs/`).pathname).toBe('/docs');
    for (const path of ['/docs/index.html', '/docs/swagger-initializer.js.map', '/docs/swagger-ui.js', '/docs/%2e%2e/package.json']) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(await response.json(), path).toHaveProperty('message');
    }
  });
});
