import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRefusalLog } from '../../api/refusal-log.js';
import { createLogger } from '../../config/logger.js';

// The aggregation of the request lines of 401s and 429s: a flood writes the first line of each
// kind, then one summary line per kind and interval; a quiet kind starts over.

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('test', 'info', stream) };
}

const missing = { method: 'POST', route: '/orders', status: 401, reason: 'missing' };
const limited = { method: 'POST', route: '/orders', status: 429, reason: 'account' };

describe('createRefusalLog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('admits every answer but 401 and 429', () => {
    const { logger, lines } = memoryLogger();
    const log = createRefusalLog({ logger, intervalMs: 1000 });
    for (const status of [200, 201, 400, 404, 409, 422, 500, 503]) {
      for (let i = 0; i < 3; i++) expect(log.admit({ method: 'POST', route: '/orders', status })).toBe(true);
    }
    vi.advanceTimersByTime(5000);
    expect(lines).toEqual([]);
  });

  it('admits the first refusal of each kind, counts the others into one summary line per kind and interval', () => {
    const { logger, lines } = memoryLogger();
    const log = createRefusalLog({ logger, intervalMs: 1000 });
    const admitted = (line: typeof missing, n: number) => Array.from({ length: n }, () => log.admit(line)).filter(Boolean).length;

    expect(admitted(missing, 500)).toBe(1);
    expect(admitted(limited, 300)).toBe(1);
    // Another reason, route or method is another kind.
    expect(log.admit({ ...missing, reason: 'unknown' })).toBe(true);
    expect(log.admit({ ...missing, route: '/orders/:id', method: 'GET' })).toBe(true);
    expect(lines).toEqual([]);

    vi.advanceTimersByTime(1000);
    expect(lines).toMatchObject([
      { level: 'info', msg: 'refusals aggregated', ...missing, suppressed: 499, intervalMs: 1000 },
      { level: 'info', msg: 'refusals aggregated', ...limited, suppressed: 299, intervalMs: 1000 },
    ]);

    // The flood goes on: still no line of its own, the next summary counts the next interval's.
    expect(admitted(missing, 100)).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(lines.slice(2)).toMatchObject([{ ...missing, suppressed: 100 }]);

    // Quiet for a whole interval: forgotten, so the next refusal of the kind is admitted again.
    vi.advanceTimersByTime(2000);
    expect(lines).toHaveLength(3);
    expect(log.admit(missing)).toBe(true);
    expect(log.admit(missing)).toBe(false);
  });

  it('stops its timer when nothing is left to report, and writes what it counted when closed', () => {
    const { logger, lines } = memoryLogger();
    const log = createRefusalLog({ logger, intervalMs: 1000 });
    log.admit(limited);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2000);
    expect(vi.getTimerCount()).toBe(0);

    for (let i = 0; i < 10; i++) log.admit(limited);
    log.close();
    expect(lines).toMatchObject([{ ...limited, suppressed: 9 }]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
