import { createHash, randomInt, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCursorCodec } from '../../api/list-cursor.js';
import { openApiDocument } from '../../api/openapi.js';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { testConfig } from '../support/config.js';
import { type JsonResponse, methodRequest, postJson, request } from '../support/http.js';
import { validatorAt } from '../support/openapi-contract.js';

// Bad input against the real API (PostgreSQL and Temporal behind it): each answers a 4xx that
// names what is wrong, and nothing is stored. Before, a NUL answered 500 (PostgreSQL 22021), a
// forged cursor 500, TRACE and QUERY 501; invalid UTF-8, lone surrogates, a foreign charset and
// an empty Idempotency-Key were taken, and stored.

const config = testConfig();
let api: ApiServer;
let db: pg.Client;

beforeAll(async () => {
  api = await startApiServer(config, createLogger('api', 'silent'));
  db = new pg.Client({ connectionString: config.DATABASE_URL });
  await db.connect();
});

afterAll(async () => {
  await api?.close();
  await db?.end();
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `length` characters no other test (or earlier run on the same database) uses, starting with `prefix`. */
function unique(prefix: string, length = 12): string {
  let text = prefix;
  while (text.length < length) text += ALPHABET[randomInt(ALPHABET.length)];
  return text;
}

async function ordersStartingWith(prefix: string): Promise<number> {
  const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM orders WHERE starts_with(instrument, $1)', [prefix]);
  return Number(rows[0]!.count);
}

const market = (instrument: string) => ({ type: 'market', side: 'buy', instrument, quantity: 1 });
const post = (body: unknown, headers?: Record<string, string>) => postJson(`${api.url}/orders`, body, headers);
const list = (query: string) => request(`${api.url}/orders?${query}`);
const details = (response: JsonResponse) => response.body.detail as { loc: string[]; msg: string; type: string }[];

// NUL, C0 controls, DEL, C1 controls, zero-width, bidi marks, overrides and isolates, BOM, soft hyphen.
const CONTROL_AND_FORMAT = [
  '\u0000',
  '\t',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u009f',
  '\u200b',
  '\u200e',
  '\u202e',
  '\u2066',
  '\ufeff',
  '\u00ad',
];
const codePoint = (character: string) => `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

describe('control and format characters (Unicode Cc, Cf) answer 422 naming the field', () => {
  it.each(CONTROL_AND_FORMAT.map((character) => [codePoint(character), character]))(
    '%s in the body instrument: 422, nothing stored',
    async (_name, character) => {
      const prefix = unique('CC', 9);
      const response = await post(market(`${prefix}X${character}Y`));
      expect(response.status, response.text).toBe(422);
      expect(details(response)).toEqual([
        {
          loc: ['body', 'instrument'],
          msg: expect.stringContaining(`${codePoint(character)} at position 10`),
          type: 'string_control_character',
        },
      ]);
      expect(await ordersStartingWith(prefix)).toBe(0);
    },
  );

  it('in any string field of the body, each named once', async () => {
    const response = await post({ type: 'limit\u0000', side: '\u202ebuy', instrument: unique('CC'), limit_price: '\t10.25', quantity: 1 });
    expect(response.status, response.text).toBe(422);
    expect(
      details(response)
        .map((detail) => [detail.loc.join('.'), detail.type])
        .sort(),
    ).toEqual([
      ['body.limit_price', 'string_control_character'],
      ['body.side', 'string_control_character'],
      ['body.type', 'string_control_character'],
    ]);
  });

  it.each(CONTROL_AND_FORMAT.map((character) => [codePoint(character), character]))(
    '%s in the instrument query parameter: 422',
    async (_name, character) => {
      const response = await list(`instrument=${encodeURIComponent(`${unique('CQ', 11)}${character}`)}`);
      expect(response.status, response.text).toBe(422);
      expect(details(response)).toEqual([
        { loc: ['query', 'instrument'], msg: expect.stringContaining(codePoint(character)), type: 'string_control_character' },
      ]);
    },
  );

  it.each([
    ['status', 'placed\u0000'],
    ['side', 'buy\u200b'],
    ['type', '\u202emarket'],
    ['limit', '5\u0000'],
    ['created_from', '2026-11-23T10:00:00Z\u0000'],
    ['created_to', '\u00002026-11-23T10:00:00Z'],
    ['cursor', '\u200b'],
  ])('in the %s query parameter: 422 naming it', async (name, value) => {
    const response = await list(`${name}=${encodeURIComponent(value)}`);
    expect(response.status, response.text).toBe(422);
    expect(details(response)).toEqual([{ loc: ['query', name], msg: expect.any(String), type: 'string_control_character' }]);
  });

  it('documents the rule: the OpenAPI schemas refuse what the server refuses', () => {
    const instrument = validatorAt(['components', 'schemas', 'LimitOrderRequest', 'properties', 'instrument']);
    expect(instrument('US0378331005')).toBe(true);
    expect(instrument('US037833100\u0000')).toBe(false);
    expect(instrument('US037833100\u202e')).toBe(false);
  });
});

// ---- cursors ------------------------------------------------------------------------------------

// The filter key of a query without filters (api/list-orders.ts); a cursor is bound to it.
const NO_FILTERS = JSON.stringify([null, null, null, null, null, null]);
const INVALID_CURSOR = /pass the `next` value of a previous page unchanged/;
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('GET /orders cursors: signed, and every field checked', () => {
  it('a cursor forged as the old format allowed (year +010000, unkeyed hash): 422, not 500', async () => {
    const createdAt = '+010000-01-01T00:00:00.000Z';
    const id = randomUUID();
    const check = createHash('sha256').update(`orders-list-cursor/1\n${NO_FILTERS}\n${createdAt}\n${id}`).digest('base64url').slice(0, 22);
    const response = await list(`cursor=${encode([1, createdAt, id, check])}`);
    expect(response.status, response.text).toBe(422);
    expect(details(response)).toEqual([{ loc: ['query', 'cursor'], msg: expect.stringMatching(INVALID_CURSOR), type: 'value_error' }]);
  });

  it('a cursor signed with the public default key is still checked field by field: a year outside 0001–9999, a bad id: 422', async () => {
    const publicKey = createCursorCodec(undefined);
    const id = randomUUID();
    // Signed right: the service (CURSOR_SECRET unset) accepts it, so the forgeries below are signed right too.
    const sound = await list(`cursor=${publicKey.encode({ createdAt: new Date('2020-01-01T00:00:00.000Z'), id }, NO_FILTERS)}`);
    expect(sound.status, sound.text).toBe(200);
    const forged = [
      { createdAt: new Date(Date.UTC(10000, 0, 1)), id },
      { createdAt: new Date('0000-01-01T00:00:00.000Z'), id },
      { createdAt: new Date(Date.UTC(-1, 0, 1)), id },
      { createdAt: new Date('2020-01-01T00:00:00.000Z'), id: 'not-a-uuid' },
      { createdAt: new Date('2020-01-01T00:00:00.000Z'), id: id.toUpperCase() },
    ];
    for (const position of forged) {
      const response = await list(`cursor=${publicKey.encode(position, NO_FILTERS)}`);
      expect(response.status, `${position.createdAt.toISOString()} ${position.id}: ${response.text}`).toBe(422);
      expect(details(response)).toEqual([{ loc: ['query', 'cursor'], msg: expect.stringMatching(INVALID_CURSOR), type: 'value_error' }]);
    }
  });

  it('cursors are signed with CURSOR_SECRET: API processes sharing it accept each other’s, others refuse them', async () => {
    const secret = `s-${randomUUID()}-${randomUUID()}`;
    const [first, second, other] = await Promise.all([
      startApiServer(testConfig({ CURSOR_SECRET: secret }), createLogger('api', 'silent')),
      startApiServer(testConfig({ CURSOR_SECRET: secret }), createLogger('api', 'silent')),
      startApiServer(testConfig({ CURSOR_SECRET: `t-${randomUUID()}-${randomUUID()}` }), createLogger('api', 'silent')),
    ]);
    try {
      const instrument = unique('CS');
      await db.query(
        "INSERT INTO orders (type, side, instrument, quantity, status, rejected_at, rejected_reason) SELECT 'market', 'buy', $1, 1, 'rejected', now(), 'test' FROM generate_series(1, 3)",
        [instrument],
      );
      const page = await request(`${first.url}/orders?instrument=${instrument}&limit=1`);
      expect(page.status).toBe(200);
      const next = `orders?instrument=${instrument}&limit=1&cursor=${page.body.next}`;
      const onSecond = await request(`${second.url}/${next}`);
      expect(onSecond.status, onSecond.text).toBe(200);
      expect(onSecond.body.data[0].id).not.toBe(page.body.data[0].id);
      for (const refusing of [other, api]) {
        const refused = await request(`${refusing.url}/${next}`);
        expect(refused.status, refused.text).toBe(422);
        expect(details(refused).map((detail) => detail.loc.join('.'))).toEqual(['query.cursor']);
      }
      // Signed with the public key: a forgery for a server with a secret.
      const forged = createCursorCodec(undefined).encode({ createdAt: new Date(), id: randomUUID() }, NO_FILTERS);
      expect((await request(`${first.url}/orders?cursor=${forged}`)).status).toBe(422);
    } finally {
      await Promise.all([first.close(), second.close(), other.close()]);
    }
  });

  it('an empty cursor is refused, and the document says so (minLength 1)', async () => {
    const response = await list('cursor=');
    expect(response.status).toBe(422);
    expect(details(response).map((detail) => detail.loc.join('.'))).toEqual(['query.cursor']);
    const parameters = openApiDocument().paths['/orders']?.get?.parameters ?? [];
    const index = parameters.findIndex((parameter) => parameter.name === 'cursor');
    const schema = validatorAt(['paths', '/orders', 'get', 'parameters', String(index), 'schema']);
    expect(schema('')).toBe(false);
    expect(schema(page1Cursor())).toBe(true);
  });
});

/** A well-formed cursor, as the service writes them. */
function page1Cursor(): string {
  return createCursorCodec(undefined).encode({ createdAt: new Date(), id: randomUUID() }, NO_FILTERS);
}

// ---- methods ------------------------------------------------------------------------------------

/** A request with any method (fetch refuses TRACE), its answer checked against the document. */
const rawRequest = (method: string, path: string) => methodRequest(method, `${api.url}${path}`);

describe('methods the API does not take: 405 with Allow, never 501', () => {
  it.each(['TRACE', 'QUERY'])('%s /orders: 405, Allow names GET, POST and DELETE', async (method) => {
    const response = await rawRequest(method, '/orders');
    expect(response.status, response.text).toBe(405);
    expect(response.body).toEqual({ message: 'Method Not Allowed' });
    const allow = response.headers.get('allow')?.split(/,\s*/).sort();
    expect(allow).toEqual(['DELETE', 'GET', 'HEAD', 'POST']);
  });

  it('TRACE /orders/:id: 405, Allow names GET, PATCH and DELETE', async () => {
    const response = await rawRequest('TRACE', `/orders/${randomUUID()}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PATCH']);
  });

  it('TRACE on a path the API does not have: 404', async () => {
    const response = await rawRequest('TRACE', '/no-such-path');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ message: 'No route for TRACE /no-such-path' });
  });

  // Before, these answered 404: the health routes were no router's, so no method but GET was known there.
  it.each([
    ['TRACE', '/health/live'],
    ['TRACE', '/health/ready'],
    ['QUERY', '/health/live'],
    ['POST', '/health/ready'],
    ['DELETE', '/openapi.json'],
  ])('%s %s: 405, Allow names GET, without a key', async (method, path) => {
    const response = await rawRequest(method, path);
    expect(response.status, response.text).toBe(405);
    expect(response.body).toEqual({ message: 'Method Not Allowed' });
    expect(response.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['GET', 'HEAD']);
  });

  it('OPTIONS /health/live: 200, Allow names GET', async () => {
    const response = await rawRequest('OPTIONS', '/health/live');
    expect(response.status).toBe(200);
    expect(response.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['GET', 'HEAD']);
  });
});

describe('OPTIONS checks the order id as GET does', () => {
  // Before, OPTIONS answered 200 with Allow whatever the id: the router matched the path and looked no further.
  it.each(['/orders/not-a-uuid', '/orders/null%2Cnull', '/orders/not-a-uuid/executions'])('OPTIONS %s: 422 naming the id', async (path) => {
    const response = await rawRequest('OPTIONS', path);
    expect(response.status, response.text).toBe(422);
    expect(response.body).toEqual({ detail: [{ loc: ['path', 'id'], msg: 'Input should be a valid UUID', type: 'uuid_parsing' }] });
    expect((await rawRequest('GET', path)).body).toEqual(response.body);
  });

  it('OPTIONS with a well-formed id, of an order or not: 200 with Allow, nothing read', async () => {
    const order = await rawRequest('OPTIONS', `/orders/${randomUUID()}`);
    expect(order.status).toBe(200);
    expect(order.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PATCH']);
    const executions = await rawRequest('OPTIONS', `/orders/${randomUUID()}/executions`);
    expect(executions.status).toBe(200);
    expect(executions.headers.get('allow')?.split(/,\s*/).sort()).toEqual(['GET', 'HEAD']);
  });
});

// ---- the body's encoding ------------------------------------------------------------------------

describe('POST /orders: the body must be UTF-8 and its strings Unicode text', () => {
  const postBytes = (bytes: Buffer, contentType = 'application/json') =>
    request(`${api.url}/orders`, { method: 'POST', headers: { 'content-type': contentType }, body: bytes });

  it.each([
    ['a byte that is never UTF-8 (0xFF)', Buffer.from([0xff, 0xfe])],
    ['a truncated sequence', Buffer.from([0xe2, 0x82])],
    ['an overlong encoding of "/"', Buffer.from([0xc0, 0xaf])],
    ['an encoded surrogate (CESU-8)', Buffer.from([0xed, 0xa0, 0x80])],
  ])('invalid UTF-8 in a string (%s): 400, nothing stored', async (_name, bad) => {
    const prefix = unique('U8', 10);
    const json = Buffer.concat([Buffer.from(`{"type":"market","side":"buy","quantity":1,"instrument":"${prefix}`), bad, Buffer.from('"}')]);
    const response = await postBytes(json);
    expect(response.status, response.text).toBe(400);
    expect(response.body).toEqual({ message: 'Request body is not valid UTF-8' });
    expect(await ordersStartingWith(prefix)).toBe(0);
  });

  it.each([
    ['a lone high surrogate', '\\ud800'],
    ['a lone low surrogate', '\\udfff'],
    ['a pair in the wrong order', '\\udc00\\ud800'],
  ])('%s escaped in a string: 400 naming where, nothing stored', async (_name, escaped) => {
    const prefix = unique('LS', 11);
    const response = await post(`{"type":"market","side":"buy","quantity":1,"instrument":"${prefix}${escaped}"}`);
    expect(response.status, response.text).toBe(400);
    expect(response.body.message).toMatch(/^Malformed JSON: the string at \/instrument holds a lone surrogate/);
    expect(await ordersStartingWith(prefix)).toBe(0);
  });

  it('a lone surrogate in a key: 400', async () => {
    const response = await post(`{"type":"market","side":"buy","quantity":1,"instrument":"${unique('LK')}","\\ud800":1}`);
    expect(response.status, response.text).toBe(400);
    expect(response.body.message).toMatch(/lone surrogate/);
  });

  it.each([
    'application/json; charset=iso-8859-1',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/json; charset=us-ascii',
  ])('Content-Type %s: 415, nothing stored', async (contentType) => {
    const prefix = unique('CH', 12);
    const response = await postBytes(Buffer.from(JSON.stringify(market(prefix))), contentType);
    expect(response.status, response.text).toBe(415);
    expect(response.body.message).toMatch(/UTF-8/);
    expect(await ordersStartingWith(prefix)).toBe(0);
  });
});

// ---- Idempotency-Key ----------------------------------------------------------------------------

describe('POST /orders: an empty Idempotency-Key is a bad key', () => {
  it('answers 400 as for any bad key, and stores nothing', async () => {
    const prefix = unique('IK', 12);
    const response = await post(market(prefix), { 'Idempotency-Key': '' });
    expect(response.status, response.text).toBe(400);
    expect(response.body.message).toMatch(/^Idempotency-Key must be/);
    expect(await ordersStartingWith(prefix)).toBe(0);
  });
});
