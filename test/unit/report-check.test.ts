import { describe, expect, it } from 'vitest';
import { EXEC_TYPES, executionReport, VENUE_ORDER_STATUSES } from '../../exchange/protocol.js';
import { checkExecutionReport, parseExecutionReport } from '../../exchange/report-check.js';

// The ingestion's fast check of an execution report must answer exactly as the protocol's zod
// schema does: every field of a valid report replaced, one at a time, by each value of a pool of
// edge cases (types, lengths, bounds, patterns), and the field removed; the two agree on accept or
// refuse, and on what an accepted report is, key order included.

const base = {
  type: 'execution_report',
  seq: 41,
  poss_dup: false,
  venue: 'SIMX',
  exec_id: 'E-41',
  order_id: '3f1c2b7e-8a9d-4c1e-9f2a-1b2c3d4e5f60',
  exec_type: 'partial_fill',
  order_status: 'partially_filled',
  side: 'buy',
  last_qty: 3,
  last_px: '187.25',
  cum_qty: 3,
  leaves_qty: 7,
  avg_px: '187.250000',
  transact_time: '2026-12-07T10:00:00.123Z',
  ref_exec_id: null,
  text: null,
} as const;

// A `replaced` report carries the order as amended: five fields the others leave out (a
// replaced stop's stop price, and the venue's expiry after the replace).
const replaced = {
  ...base,
  exec_type: 'replaced',
  last_qty: 0,
  last_px: null,
  leaves_qty: 12,
  order_qty: 15,
  limit_price: '187.5',
  stop_price: '190.25',
  time_in_force: 'gtc',
  expires_at: '2026-12-07T21:00:00.000Z',
} as const;

const POOL: unknown[] = [
  'day',
  'gtc',
  undefined,
  null,
  true,
  false,
  0,
  -1,
  1,
  1.5,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  '',
  'x',
  'a'.repeat(16),
  'a'.repeat(17),
  'a'.repeat(64),
  'a'.repeat(65),
  'a'.repeat(500),
  'a'.repeat(501),
  'ünïcode ✓',
  [],
  {},
  ...EXEC_TYPES,
  ...VENUE_ORDER_STATUSES,
  'buy',
  'sell',
  'BUY',
  'execution_report',
  'heartbeat',
  // uuids: versions 1–8, nil, max, upper case, a bad variant, a bad version, no dashes
  '3f1c2b7e-8a9d-1c1e-9f2a-1b2c3d4e5f60',
  '3f1c2b7e-8a9d-8c1e-af2a-1b2c3d4e5f60',
  '3F1C2B7E-8A9D-4C1E-BF2A-1B2C3D4E5F60',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '3f1c2b7e-8a9d-4c1e-7f2a-1b2c3d4e5f60',
  '3f1c2b7e-8a9d-9c1e-9f2a-1b2c3d4e5f60',
  '3f1c2b7e8a9d4c1e9f2a1b2c3d4e5f60',
  // times: precisions, offsets, no zone, dates that do not exist
  '2026-12-07T10:00:00Z',
  '2026-12-07T10:00:00.1Z',
  '2026-12-07T10:00:00.123456Z',
  '2026-12-07T10:00:00+01:00',
  '2026-12-07T10:00:00.123',
  '2026-12-07 10:00:00Z',
  '2024-02-29T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-12-07T24:00:00Z',
  // prices and averages
  '1',
  '187.2500',
  '1.12345',
  '-1',
  '01.5',
  '.5',
  '1.',
  '1e3',
  ' 1',
  '187.250000',
  '1.00000',
  '12345678901234567.000000',
];

const variants = (): unknown[] => {
  const out: unknown[] = [base, { ...base, extra: 'dropped' }, null, [], 'text', 1, replaced];
  for (const start of [base, replaced]) {
    for (const key of Object.keys(start)) {
      const { [key]: _, ...without } = start as Record<string, unknown>;
      out.push(without);
      for (const value of POOL) out.push({ ...start, [key]: value });
    }
  }
  // Fields that are only valid together with a value that is not the default above.
  out.push({ ...base, exec_type: 'trade_bust', ref_exec_id: 'E-40', text: 'busted by the venue' });
  // A stop's trigger: no quantity, the price that reached the stop, nothing filled yet.
  out.push({
    ...base,
    exec_type: 'triggered',
    order_status: 'new',
    last_qty: 0,
    last_px: '110.0000',
    cum_qty: 0,
    leaves_qty: 10,
    avg_px: null,
  });
  return out;
};

describe('checkExecutionReport', () => {
  it('answers as the zod schema does for every variant, and returns the same report', () => {
    const all = variants();
    let accepted = 0;
    for (const raw of all) {
      const zod = executionReport.safeParse(raw);
      const fast = checkExecutionReport(raw);
      expect({ raw, accepted: fast !== null }).toEqual({ raw, accepted: zod.success });
      if (zod.success) {
        accepted += 1;
        expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
      }
    }
    // Not a vacuous agreement: both sides of it were exercised many times.
    expect(accepted).toBeGreaterThan(50);
    expect(all.length - accepted).toBeGreaterThan(300);
  });

  it('parseExecutionReport gives the schema’s error for what it refuses', () => {
    const result = parseExecutionReport({ ...base, last_qty: -1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['last_qty']);
  });
});
