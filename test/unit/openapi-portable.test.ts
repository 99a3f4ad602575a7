import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../api/openapi.js';

// The OpenAPI document is read by tools outside JavaScript: Schemathesis (Python's `re` to
// generate values, Rust's regex to check them; `npm run fuzz`), validators in Java, .NET, Go.
// Its patterns must mean the same to all of them: no Unicode property escapes (`\p{Cc}`, which
// Python's `re` and ECMA-262 without the `u` flag do not read, and which kept Schemathesis from
// testing POST and GET /orders), no code point escapes of one dialect, and the same answers
// whether a string is read by code point (the `u` flag) or by UTF-16 code unit (without it).

function patternsOf(value: unknown, found: { at: string; pattern: string }[] = [], at = '#'): { at: string; pattern: string }[] {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) patternsOf(item, found, `${at}/${index}`);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'pattern' && typeof item === 'string') found.push({ at, pattern: item });
      else patternsOf(item, found, `${at}/${key}`);
    }
  }
  return found;
}

const patterns = patternsOf(openApiDocument());

// Strings of every kind the patterns meet: ASCII, Latin-1, BMP and astral text, controls,
// format characters (BMP and astral), digits that are not ASCII.
const PROBES = [
  '',
  'a',
  'US0378331005',
  '187.25',
  '0.10',
  '42',
  'obk_abc_def',
  'order-1:retry',
  'eyJhIjoxfQ',
  'é',
  'ÄÖÜ123456789',
  '中文中文中文中文中文中文',
  '😀'.repeat(12),
  '\u0000',
  'US037833100\u0000',
  'US037833100\u200b',
  'US037833100\u202e',
  `US037833100${String.fromCodePoint(0xe0001)}`,
  `US03783310${String.fromCodePoint(0x1d173)}`,
  '١٢٣',
  '12\n',
  ' 1.50',
];

describe('the OpenAPI document is portable', () => {
  it('has patterns (the check below is not vacuous)', () => {
    expect(patterns.length).toBeGreaterThan(5);
  });

  it.each(patterns.map(({ at, pattern }) => [at, pattern]))('%s: no \\p{…}, \\u{…} or \\U escapes', (_at, pattern) => {
    expect(pattern).not.toMatch(/\\[pP]\{|\\[pP][A-Z]|\\u\{|\\U|\\x\{/);
  });

  it.each(patterns.map(({ at, pattern }) => [at, pattern]))(
    '%s: compiles with and without the u flag, and reads the same',
    (at, pattern) => {
      const byCodeUnit = new RegExp(pattern);
      const byCodePoint = new RegExp(pattern, 'u');
      for (const probe of PROBES) expect(byCodeUnit.test(probe), `${at} on ${JSON.stringify(probe)}`).toBe(byCodePoint.test(probe));
    },
  );
});
