import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../api/json-body.js';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import type { NewOrder } from '../../domain/order.js';
import { FAKE_CREATED_AT, useAppWithFakes } from '../support/fakes.js';
import { request } from '../support/http.js';
import { ISIN, LIMIT_BODY, MARKET_BODY } from '../support/orders.js';

// POST /orders over HTTP, with the database and Temporal replaced by in-memory fakes: every
// validation rule of the seed, the 422 shape FastAPI gave its clients, the exact decimal of a
// price on its way to the repository and back, and what is not a JSON body. Routing is in
// test/unit/routing.test.ts, failures of the database and Temporal in test/unit/dependency-failures.test.ts.

const PROHIBITED = 'Providing a `limit_price` is prohibited for type `market`';
const REQUIRED = 'Attribute `limit_price` is required for type `limit`';

// No request here carries an Idempotency-Key (test/component/idempotency.test.ts covers them).
const { orders, placement, url, post } = useAppWithFakes();
const market = MARKET_BODY;
const limit = LIMIT_BODY;
const raw = (fields: string) => `{"type":"limit","side":"buy","instrument":"${ISIN}","quantity":1,${fields}}`;
const rawMarket = (fields: string) => `{"type":"market","side":"buy","instrument":"${ISIN}","quantity":1,${fields}}`;

describe('POST /orders accepts valid bodies', () => {
  interface ValidCase {
    name: string;
    body: unknown;
    expected: NewOrder;
    /** The exact text of `limit_price` in the raw response. */
    priceToken: string;
  }

  const cases: ValidCase[] = [
    {
      name: 'market buy without limit_price',
      body: market,
      expected: {
        type: 'market',
        side: 'buy',
        instrument: ISIN,
        limitPrice: null,
        stopPrice: null,
        quantity: 10,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: 'null',
    },
    {
      name: 'market sell with limit_price null',
      body: { ...market, side: 'sell', limit_price: null },
      expected: {
        type: 'market',
        side: 'sell',
        instrument: ISIN,
        limitPrice: null,
        stopPrice: null,
        quantity: 10,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: 'null',
    },
    {
      name: 'limit with a decimal string "10.25"',
      body: limit,
      expected: {
        type: 'limit',
        side: 'sell',
        instrument: ISIN,
        limitPrice: '10.25',
        stopPrice: null,
        quantity: 10,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '10.25',
    },
    {
      name: 'limit with a JSON number 10.25',
      body: raw('"limit_price":10.25'),
      expected: {
        type: 'limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '10.25',
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '10.25',
    },
    {
      name: 'limit with the string "0.10" (kept with its trailing zero)',
      body: raw('"limit_price":"0.10"'),
      expected: {
        type: 'limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '0.10',
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '0.10',
    },
    {
      name: 'limit with the JSON number 0.1 (written back with two places)',
      body: raw('"limit_price":0.1'),
      expected: {
        type: 'limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '0.10',
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '0.10',
    },
    {
      name: 'limit with an integer price 7',
      body: raw('"limit_price":7'),
      expected: {
        type: 'limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '7.00',
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '7.00',
    },
    {
      name: 'limit with the smallest positive price 0.01',
      body: raw('"limit_price":0.01'),
      expected: {
        type: 'limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '0.01',
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '0.01',
    },
    {
      name: 'limit with 10.250 (trailing zero, still two significant places)',
      body: raw('"limit_price":10.250'),
      expected: {
        type: 'limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '10.25',
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '10.25',
    },
    {
      name: 'limit with the largest NUMERIC(18,2) price, beyond float precision',
      body: raw('"limit_price":9999999999999999.99'),
      expected: {
        type: 'limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '9999999999999999.99',
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: '9999999999999999.99',
    },
    {
      name: 'quantity 1 (the smallest)',
      body: { ...market, quantity: 1 },
      expected: {
        type: 'market',
        side: 'buy',
        instrument: ISIN,
        limitPrice: null,
        stopPrice: null,
        quantity: 1,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: 'null',
    },
    {
      name: 'quantity 2147483647 (the largest INTEGER)',
      body: { ...market, quantity: 2147483647 },
      expected: {
        type: 'market',
        side: 'buy',
        instrument: ISIN,
        limitPrice: null,
        stopPrice: null,
        quantity: 2147483647,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: 'null',
    },
    {
      name: 'instrument of 12 two-byte characters',
      body: { ...market, instrument: 'ÄÖÜäöüßéèêëï' },
      expected: {
        type: 'market',
        side: 'buy',
        instrument: 'ÄÖÜäöüßéèêëï',
        limitPrice: null,
        stopPrice: null,
        quantity: 10,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: 'null',
    },
    {
      name: 'instrument of 12 astral characters (24 UTF-16 units, 48 bytes)',
      body: { ...market, instrument: '😀'.repeat(12) },
      expected: {
        type: 'market',
        side: 'buy',
        instrument: '😀'.repeat(12),
        limitPrice: null,
        stopPrice: null,
        quantity: 10,
        timeInForce: 'day',
        clientOrderId: null,
      },
      priceToken: 'null',
    },
  ];

  const stopCases: ValidCase[] = [
    {
      name: 'stop buy with stop_price "110.50", ioc',
      body: { ...market, type: 'stop', stop_price: '110.50', time_in_force: 'ioc' },
      expected: {
        type: 'stop',
        side: 'buy',
        instrument: ISIN,
        limitPrice: null,
        stopPrice: '110.50',
        quantity: 10,
        timeInForce: 'ioc',
        clientOrderId: null,
      },
      priceToken: 'null',
    },
    {
      name: 'stop_limit sell with the JSON numbers 95 and 94.5, fok',
      body: rawMarket('"type":"stop_limit","stop_price":95,"limit_price":94.5,"time_in_force":"fok"').replace('"type":"market",', ''),
      expected: {
        type: 'stop_limit',
        side: 'buy',
        instrument: ISIN,
        limitPrice: '94.50',
        stopPrice: '95.00',
        quantity: 1,
        timeInForce: 'fok',
        clientOrderId: null,
      },
      priceToken: '94.50',
    },
    {
      name: 'limit with stop_price null (counts as absent), gtc',
      body: { ...limit, stop_price: null, time_in_force: 'gtc' },
      expected: {
        type: 'limit',
        side: 'sell',
        instrument: ISIN,
        limitPrice: '10.25',
        stopPrice: null,
        quantity: 10,
        timeInForce: 'gtc',
        clientOrderId: null,
      },
      priceToken: '10.25',
    },
  ];
  cases.push(...stopCases);

  it.each(cases)('$name → 201', async ({ body, expected, priceToken }) => {
    const response = await post(body);

    expect(response.status, response.text).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);

    // What reached the repository: the validated order, its price an exact decimal string.
    expect(orders.created).toEqual([expected]);
    const stored = orders.created[0]!;
    if (expected.limitPrice === null) {
      expect(stored.limitPrice).toBeNull();
    } else {
      expect(typeof stored.limitPrice).toBe('string');
      expect(stored.limitPrice).toBe(expected.limitPrice);
    }
    expect(Number.isInteger(stored.quantity)).toBe(true);

    // The answer: the stored order, its workflow id and the price as written.
    const id = response.body.id as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(orders.byId.has(id)).toBe(true);
    expect(response.body).toMatchObject({
      id,
      created_at: FAKE_CREATED_AT.toISOString(),
      type: expected.type,
      side: expected.side,
      instrument: expected.instrument,
      quantity: expected.quantity,
      status: 'accepted',
      workflow_id: `order-${id}`,
    });
    expect(response.text).toContain(`"limit_price":${priceToken}`);
    expect(response.text).toContain(`"stop_price":${expected.stopPrice ?? 'null'}`);
    expect(response.body).toMatchObject({ time_in_force: expected.timeInForce });
    expect(response.text).toContain(`"quantity":${expected.quantity}`);

    // The workflow was started once, with the order as stored.
    expect(placement.tickets).toEqual([{ id, createdAt: FAKE_CREATED_AT.toISOString(), accountId: DEMO_ACCOUNT_ID, ...expected }]);
    expect(orders.callsOf('rejectIfPending')).toEqual([]);
  });
});

describe('POST /orders rejects invalid bodies with 422', () => {
  interface Expected {
    /** The failing field, or null for the body itself. */
    field: string | null;
    msg: string;
    /** The error type; when omitted, any type except 'missing' (the field is present). */
    type?: string;
  }
  interface InvalidCase {
    name: string;
    body: unknown;
    errors: Expected[];
  }

  const missing = (field: string): Expected => ({ field, msg: 'Field required', type: 'missing' });
  const extra = (field: string): Expected => ({ field, msg: 'Extra inputs are not permitted', type: 'extra_forbidden' });
  const typeError: Expected = { field: 'type', msg: "Input should be 'market', 'limit', 'stop' or 'stop_limit'" };
  const sideError: Expected = { field: 'side', msg: "Input should be 'buy' or 'sell'" };
  const lengthError: Expected = { field: 'instrument', msg: 'String should have exactly 12 characters' };
  const notString: Expected = { field: 'instrument', msg: 'Input should be a valid string' };
  const notDecimal: Expected = { field: 'limit_price', msg: 'Input should be a valid decimal', type: 'decimal_parsing' };
  const tooManyPlaces: Expected = {
    field: 'limit_price',
    msg: 'Decimal input should have no more than 2 decimal places',
    type: 'decimal_max_places',
  };
  const priceNotPositive: Expected = { field: 'limit_price', msg: 'Input should be greater than 0', type: 'greater_than' };
  const notInteger: Expected = { field: 'quantity', msg: 'Input should be a valid integer', type: 'int_type' };
  const fraction: Expected = { field: 'quantity', msg: 'Input should be a valid integer', type: 'int_from_float' };
  const quantityNotPositive: Expected = { field: 'quantity', msg: 'Input should be greater than 0', type: 'greater_than' };
  const notObject: Expected = { field: null, msg: 'Input should be a valid object' };

  const cases: InvalidCase[] = [
    // type
    { name: 'type "stop_market"', body: { ...market, type: 'stop_market' }, errors: [typeError] },
    { name: 'type "MARKET" (case matters)', body: { ...market, type: 'MARKET' }, errors: [typeError] },
    { name: 'type as a number', body: { ...market, type: 1 }, errors: [typeError] },
    { name: 'type null', body: { ...market, type: null }, errors: [typeError] },
    // side
    { name: 'side "hold"', body: { ...market, side: 'hold' }, errors: [sideError] },
    { name: 'side "" (empty)', body: { ...market, side: '' }, errors: [sideError] },
    // instrument
    { name: 'instrument of 11 characters', body: { ...market, instrument: 'US037833100' }, errors: [lengthError] },
    { name: 'instrument of 13 characters', body: { ...market, instrument: 'US03783310055' }, errors: [lengthError] },
    { name: 'instrument empty', body: { ...market, instrument: '' }, errors: [lengthError] },
    { name: 'instrument of 11 two-byte characters', body: { ...market, instrument: 'ÄÖÜäöüßéèêë' }, errors: [lengthError] },
    { name: 'instrument of 13 two-byte characters', body: { ...market, instrument: 'ÄÖÜäöüßéèêëïö' }, errors: [lengthError] },
    {
      name: 'instrument of 6 astral characters (12 UTF-16 units)',
      body: { ...market, instrument: '😀'.repeat(6) },
      errors: [lengthError],
    },
    { name: 'instrument as a 12-digit number', body: { ...market, instrument: 123456789012 }, errors: [notString] },
    // limit_price against type
    {
      name: 'market with limit_price 10.25',
      body: { ...market, limit_price: 10.25 },
      errors: [{ field: 'limit_price', msg: PROHIBITED, type: 'value_error' }],
    },
    {
      name: 'market with limit_price "10.25"',
      body: { ...market, limit_price: '10.25' },
      errors: [{ field: 'limit_price', msg: PROHIBITED, type: 'value_error' }],
    },
    {
      name: 'limit without limit_price',
      body: { ...market, type: 'limit' },
      errors: [{ field: 'limit_price', msg: REQUIRED, type: 'value_error' }],
    },
    {
      name: 'limit with limit_price null',
      body: { ...limit, limit_price: null },
      errors: [{ field: 'limit_price', msg: REQUIRED, type: 'value_error' }],
    },
    // stop_price and limit_price against the stop types
    ...(['market', 'limit'] as const).map((type) => ({
      name: `${type} with stop_price`,
      body: { ...(type === 'market' ? market : limit), stop_price: '9.00' },
      errors: [{ field: 'stop_price', msg: `Providing a \`stop_price\` is prohibited for type \`${type}\``, type: 'value_error' }],
    })),
    ...(['stop', 'stop_limit'] as const).map((type) => ({
      name: `${type} without stop_price`,
      body: { ...limit, type, limit_price: type === 'stop' ? undefined : '10.25' },
      errors: [{ field: 'stop_price', msg: `Attribute \`stop_price\` is required for type \`${type}\``, type: 'value_error' }],
    })),
    {
      name: 'stop with limit_price',
      body: { ...market, type: 'stop', stop_price: '11.00', limit_price: '10.00' },
      errors: [{ field: 'limit_price', msg: 'Providing a `limit_price` is prohibited for type `stop`', type: 'value_error' }],
    },
    {
      name: 'stop_limit without limit_price (stop_price null too: both named)',
      body: { ...market, type: 'stop_limit', stop_price: null },
      errors: [
        { field: 'limit_price', msg: 'Attribute `limit_price` is required for type `stop_limit`', type: 'value_error' },
        { field: 'stop_price', msg: 'Attribute `stop_price` is required for type `stop_limit`', type: 'value_error' },
      ],
    },
    // stop_price values: the limit_price rules
    ...(
      [
        ['10.255', 'Decimal input should have no more than 2 decimal places', 'decimal_max_places'],
        ['0', 'Input should be greater than 0', 'greater_than'],
        ['-1', 'Input should be greater than 0', 'greater_than'],
        ['1e2', 'Input should be a valid decimal', 'decimal_parsing'],
        ['10000000000000000', 'Input should be less than or equal to 9999999999999999.99', 'less_than_equal'],
      ] as const
    ).map(([price, msg, type]) => ({
      name: `stop_price "${price}"`,
      body: { ...market, type: 'stop', stop_price: price },
      errors: [{ field: 'stop_price', msg, type }],
    })),
    {
      name: 'stop_price true',
      body: { ...market, type: 'stop', stop_price: true },
      errors: [{ field: 'stop_price', msg: 'Input should be a valid decimal' }],
    },
    // time_in_force
    ...['IOC', 'fak', 'gtd', 1].map((tif) => ({
      name: `time_in_force ${JSON.stringify(tif)}`,
      body: { ...market, time_in_force: tif },
      errors: [{ field: 'time_in_force', msg: "Input should be 'day', 'gtc', 'ioc' or 'fok'" }],
    })),
    // limit_price values
    { name: 'limit_price with 3 decimal places (number)', body: raw('"limit_price":10.255'), errors: [tooManyPlaces] },
    { name: 'limit_price with 3 decimal places (string)', body: { ...limit, limit_price: '10.255' }, errors: [tooManyPlaces] },
    { name: 'limit_price 0.001', body: raw('"limit_price":0.001'), errors: [tooManyPlaces] },
    { name: 'limit_price 0', body: raw('"limit_price":0'), errors: [priceNotPositive] },
    { name: 'limit_price "0.00"', body: { ...limit, limit_price: '0.00' }, errors: [priceNotPositive] },
    { name: 'limit_price -1.5', body: raw('"limit_price":-1.5'), errors: [priceNotPositive] },
    { name: 'limit_price "-10.25"', body: { ...limit, limit_price: '-10.25' }, errors: [priceNotPositive] },
    {
      name: 'limit_price above NUMERIC(18,2)',
      body: raw('"limit_price":10000000000000000'),
      errors: [{ field: 'limit_price', msg: 'Input should be less than or equal to 9999999999999999.99', type: 'less_than_equal' }],
    },
    { name: 'limit_price "NaN"', body: { ...limit, limit_price: 'NaN' }, errors: [notDecimal] },
    { name: 'limit_price "Infinity"', body: { ...limit, limit_price: 'Infinity' }, errors: [notDecimal] },
    { name: 'limit_price "-Infinity"', body: { ...limit, limit_price: '-Infinity' }, errors: [notDecimal] },
    { name: 'limit_price "1e2" (exponent)', body: { ...limit, limit_price: '1e2' }, errors: [notDecimal] },
    { name: 'limit_price "1.025E1" (exponent)', body: { ...limit, limit_price: '1.025E1' }, errors: [notDecimal] },
    { name: 'limit_price "0x10" (hex)', body: { ...limit, limit_price: '0x10' }, errors: [notDecimal] },
    { name: 'limit_price "10,25" (comma)', body: { ...limit, limit_price: '10,25' }, errors: [notDecimal] },
    { name: 'limit_price "abc"', body: { ...limit, limit_price: 'abc' }, errors: [notDecimal] },
    { name: 'limit_price "" (empty)', body: { ...limit, limit_price: '' }, errors: [notDecimal] },
    { name: 'limit_price true', body: { ...limit, limit_price: true }, errors: [notDecimal] },
    { name: 'limit_price as an object', body: { ...limit, limit_price: { amount: 10 } }, errors: [notDecimal] },
    // quantity
    { name: 'quantity 0', body: { ...market, quantity: 0 }, errors: [quantityNotPositive] },
    { name: 'quantity -5', body: { ...market, quantity: -5 }, errors: [quantityNotPositive] },
    { name: 'quantity 1.5', body: { ...market, quantity: 1.5 }, errors: [fraction] },
    { name: 'quantity "5" (a string where a number belongs)', body: { ...market, quantity: '5' }, errors: [notInteger] },
    { name: 'quantity null', body: { ...market, quantity: null }, errors: [notInteger] },
    { name: 'quantity true', body: { ...market, quantity: true }, errors: [notInteger] },
    {
      name: 'quantity 2147483648 (one above INTEGER)',
      body: { ...market, quantity: 2147483648 },
      errors: [{ field: 'quantity', msg: 'Input should be less than or equal to 2147483647', type: 'less_than_equal' }],
    },
    {
      name: 'quantity 1e400 (beyond any float)',
      body: `{"type":"market","side":"buy","instrument":"${ISIN}","quantity":1e400}`,
      errors: [{ field: 'quantity', msg: 'Input should be less than or equal to 2147483647', type: 'less_than_equal' }],
    },
    // missing fields
    ...(['type', 'side', 'instrument', 'quantity'] as const).map((field) => {
      const body: Record<string, unknown> = { ...market };
      delete body[field];
      return { name: `missing ${field}`, body, errors: [missing(field)] };
    }),
    { name: 'empty object', body: {}, errors: [missing('type'), missing('side'), missing('instrument'), missing('quantity')] },
    // unknown fields
    { name: 'extra field "price"', body: { ...market, price: 10 }, errors: [extra('price')] },
    { name: 'extra field "id"', body: { ...market, id: randomUUID() }, errors: [extra('id')] },
    { name: 'two extra fields', body: { ...market, status: 'placed', limitPrice: 1 }, errors: [extra('status'), extra('limitPrice')] },
    { name: 'extra field "__proto__"', body: rawMarket('"__proto__":{"quantity":5}'), errors: [extra('__proto__')] },
    // several failures at once: every failing field is named
    {
      name: 'five fields failing together',
      body: { type: 'limit', side: 'hold', instrument: 'short', limit_price: '1.234', quantity: 0, note: 'x' },
      errors: [sideError, lengthError, tooManyPlaces, quantityNotPositive, extra('note')],
    },
    {
      name: 'wrong types everywhere',
      body: { type: 42, side: false, instrument: [], limit_price: 'NaN', quantity: '1' },
      errors: [typeError, sideError, notString, notDecimal, notInteger],
    },
    {
      name: 'missing and invalid fields together',
      body: { type: 'market', instrument: 'X', quantity: -1 },
      errors: [missing('side'), lengthError, quantityNotPositive],
    },
    {
      name: 'limit without limit_price and quantity 0',
      body: { ...market, type: 'limit', quantity: 0 },
      errors: [{ field: 'limit_price', msg: REQUIRED, type: 'value_error' }, quantityNotPositive],
    },
    {
      name: 'market with limit_price and an invalid side',
      body: { ...market, side: 'hold', limit_price: '10.25' },
      errors: [sideError, { field: 'limit_price', msg: PROHIBITED, type: 'value_error' }],
    },
    {
      name: 'market with limit_price and an extra field',
      body: { ...market, limit_price: '10.25', venue: 'XETRA' },
      errors: [{ field: 'limit_price', msg: PROHIBITED, type: 'value_error' }, extra('venue')],
    },
    // not an object at all
    { name: 'an array', body: [market], errors: [notObject] },
    { name: 'an empty array', body: [], errors: [notObject] },
    { name: 'null', body: null, errors: [notObject] },
    { name: 'a JSON string', body: JSON.stringify(JSON.stringify(market)), errors: [notObject] },
    { name: 'a number', body: '42', errors: [notObject] },
  ];

  it.each(cases)('$name → 422', async ({ body, errors }) => {
    const response = await post(body);

    expect(response.status, response.text).toBe(422);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(response.body)).toEqual(['detail']);
    const detail = response.body.detail as { loc: unknown[]; msg: string; type: string }[];
    expect(Array.isArray(detail)).toBe(true);
    for (const entry of detail) {
      expect(Object.keys(entry).sort()).toEqual(['loc', 'msg', 'type']);
      expect(typeof entry.type).toBe('string');
    }
    const expected = errors.map(({ field, msg, type }) => ({
      loc: field === null ? ['body'] : ['body', field],
      msg,
      type: type ?? expect.not.stringMatching(/^missing$/),
    }));
    // Every failing field, each once, and nothing else.
    expect(detail).toHaveLength(expected.length);
    expect(detail).toEqual(expect.arrayContaining(expected));

    // Nothing was stored or started.
    expect(orders.created).toEqual([]);
    expect(placement.tickets).toEqual([]);
  });
});

describe('POST /orders rejects what is not a JSON body', () => {
  const valid = JSON.stringify(limit);

  it('answers 400 with a message for malformed JSON', async () => {
    for (const text of ['{"type":"market",', "{'type':'market'}", '{"type":"market"} trailing', '']) {
      const response = await post(text);
      expect(response.status, `${JSON.stringify(text)} → ${response.text}`).toBe(400);
      expect(response.body.message).toMatch(/^Malformed JSON/);
    }
    expect(orders.created).toEqual([]);
  });

  it('answers 415 for a text/plain body, even if it holds valid JSON', async () => {
    const response = await request(`${url()}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: valid });
    expect(response.status).toBe(415);
    expect(response.body).toEqual({ message: 'Content-Type must be application/json' });
    expect(orders.created).toEqual([]);
  });

  it('accepts application/json with a charset parameter', async () => {
    const response = await post(valid, { 'content-type': 'application/json; charset=utf-8' });
    expect(response.status, response.text).toBe(201);
  });

  it(`answers 413 for a body over ${MAX_BODY_BYTES} bytes (with Content-Length)`, async () => {
    const body = JSON.stringify({ ...limit, padding: 'x'.repeat(MAX_BODY_BYTES) });
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
    const response = await post(body);
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ message: `Request body exceeds ${MAX_BODY_BYTES} bytes` });
    expect(orders.created).toEqual([]);
  });

  it(`answers 413 for a chunked body over ${MAX_BODY_BYTES} bytes (no Content-Length)`, async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= MAX_BODY_BYTES + 4096) {
          controller.enqueue(new TextEncoder().encode(valid));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await request(`${url()}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ message: `Request body exceeds ${MAX_BODY_BYTES} bytes` });
    expect(orders.created).toEqual([]);
  });

  it('accepts a body just under the limit, padded with JSON whitespace', async () => {
    const body = valid + ' '.repeat(MAX_BODY_BYTES - Buffer.byteLength(valid));
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    const response = await post(body);
    expect(response.status, response.text).toBe(201);
  });
});
