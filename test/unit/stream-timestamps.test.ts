import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from '../../prisma/order-stream.js';

// The event stream's reads parse timestamptz text by its digits when it has the form a UTC
// session writes: each must give node-postgres's own Date, and any other form go to that parser.

const standard = pg.types.getTypeParser(1184, 'text') as (text: string) => Date;

describe('parseTimestamptz', () => {
  it.each([
    '2026-12-08 05:13:52+00',
    '2026-12-08 05:13:52.1+00',
    '2026-12-08 05:13:52.12+00',
    '2026-12-08 05:13:52.123+00',
    '2026-12-08 05:13:52.001+00',
    '2024-02-29 23:59:59.999+00',
    '1970-01-01 00:00:00+00',
  ])('reads the UTC form %s as node-postgres does', (text) => {
    const fast = parseTimestamptz(text);
    expect(fast.getTime()).toBe(standard(text).getTime());
    expect(fast.toISOString().slice(0, 19)).toBe(text.slice(0, 10) + 'T' + text.slice(11, 19));
  });

  it.each([
    '2026-12-08 06:13:52.123+01',
    '2026-12-08 00:13:52.123-05',
    '2026-12-08 05:13:52.123456+00',
    '2026-12-08 05:13:52.123+05:30',
    '0044-03-15 12:00:00+00 BC',
  ])('leaves any other form (%s) to node-postgres', (text) => {
    expect(parseTimestamptz(text).getTime()).toBe(standard(text).getTime());
  });
});
