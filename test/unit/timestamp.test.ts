import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../api/openapi.js';
import { parseTimestamp } from '../../api/timestamp.js';
import { validatorAt } from '../support/openapi-contract.js';

// GET /orders' created_from and created_to: every value the OpenAPI document allows (the
// `date-time` format and the pattern beside it), the server takes. Schemathesis found one it did
// not: an RFC 3339 offset of -17:40, which PostgreSQL refuses, so the server too.

const parameters = openApiDocument().paths['/orders']?.get?.parameters ?? [];
const schemaIndex = (name: string) => parameters.findIndex((parameter) => parameter.name === name);
const documentAllows = (name: string) => validatorAt(['paths', '/orders', 'get', 'parameters', String(schemaIndex(name)), 'schema']);

/** A small deterministic generator (mulberry32): the same values on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RFC 3339 date-times as Schemathesis draws them: any year, any offset up to ±23:59, up to 9 decimals, sometimes a bad day. */
function rfc3339(next: () => number): string {
  const int = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  const two = (value: number) => String(value).padStart(2, '0');
  const fraction = next() < 0.5 ? '' : `.${Array.from({ length: int(1, 9) }, () => int(0, 9)).join('')}`;
  const offset = next() < 0.3 ? 'Z' : `${next() < 0.5 ? '+' : '-'}${two(int(0, 23))}:${two(int(0, 59))}`;
  return `${String(int(0, 9999)).padStart(4, '0')}-${two(int(1, 12))}-${two(int(1, 31))}T${two(int(0, 23))}:${two(int(0, 59))}:${two(int(0, 59))}${fraction}${offset}`;
}

describe('the documented timestamp parameters', () => {
  it.each(['created_from', 'created_to'])('%s: every value the document allows, the server takes', (name) => {
    const allows = documentAllows(name);
    const next = random(20261207);
    let allowed = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = rfc3339(next);
      if (!allows(text)) continue;
      allowed++;
      expect(parseTimestamp(text), text).toBeDefined();
    }
    expect(allowed).toBeGreaterThan(5000);
  });

  it('leaves out what the server refuses: offsets past ±15:59, the year 0000; and what it takes besides: no seconds', () => {
    const allows = documentAllows('created_from');
    for (const text of ['2533-10-31T06:41:57.22-17:40', '2026-01-01T00:00:00+16:00', '0000-01-01T00:00:00Z']) {
      expect(allows(text), text).toBe(false);
      expect(parseTimestamp(text), text).toBeUndefined();
    }
    expect(allows('2026-11-23T20:35')).toBe(false);
    expect(parseTimestamp('2026-11-23T20:35Z')).toBeDefined();
    for (const text of ['2026-11-23T20:35:52Z', '2026-11-23T21:35:52.123456789+01:00', '0001-01-01T00:00:00-15:59']) {
      expect(allows(text), text).toBe(true);
      expect(parseTimestamp(text), text).toBeDefined();
    }
  });
});
