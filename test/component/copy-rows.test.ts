import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRows } from '../../ingest/copy-rows.js';
import { testConfig } from '../support/config.js';

// The ingestion's COPY against the real server: every value that needs an escape in COPY's text
// format comes back from the table exactly as it was written, and a constraint a row breaks
// fails the whole statement (the batch relies on it: COPY has no ON CONFLICT).
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: testConfig().DATABASE_URL });
  await client.connect();
  await client.query('CREATE TEMP TABLE copy_probe (id int PRIMARY KEY, body text, doc jsonb, n numeric)');
});

afterAll(async () => {
  await client?.end();
});

describe('copyRows', () => {
  it('stores text, JSON and nulls exactly as given', async () => {
    const awkward = 'tab\there, newline\nthere, cr\r, backslash \\ and \\N, "quotes", ünïcode';
    const doc = JSON.stringify({ text: awkward, nested: { a: [1, null, 'b\\c'] } });
    const count = await copyRows(
      client,
      'copy_probe',
      ['id', 'body', 'doc', 'n'],
      [
        [1, awkward, doc, '100.2500'],
        [2, null, null, null],
        [3, '\\N', '{}', 0],
      ],
    );
    expect(count).toBe(3);
    const { rows } = await client.query('SELECT id, body, doc, n::text AS n FROM copy_probe ORDER BY id');
    expect(rows).toEqual([
      { id: 1, body: awkward, doc: JSON.parse(doc), n: '100.2500' },
      { id: 2, body: null, doc: null, n: null },
      { id: 3, body: '\\N', doc: {}, n: '0' },
    ]);
  });

  it('fails the whole COPY when one row breaks a constraint', async () => {
    await client.query('TRUNCATE copy_probe');
    await expect(
      copyRows(
        client,
        'copy_probe',
        ['id', 'body'],
        [
          [10, 'first'],
          [10, 'the same key again'],
        ],
      ),
    ).rejects.toThrow(/duplicate key/);
    const { rows } = await client.query('SELECT count(*)::int AS n FROM copy_probe');
    expect(rows[0].n).toBe(0);
  });
});
