import { describe, expect, it, vi } from 'vitest';
import type { ExecutionReport } from '../../exchange/protocol.js';
import { executionLine } from '../../ingest/batch-rows.js';
import { Batcher } from '../../ingest/batcher.js';
import { nextSeqAfter } from '../../ingest/commit-loop.js';
import { RepairWindows } from '../../ingest/repair-windows.js';
import { parseSessionLine } from '../../ingest/session-lines.js';

// The session's parts that need no socket or database (ingest/session.ts puts them together):
// what a line is, the batcher's timing and backpressure, repair windows, the committed seq.
const ORDER = '00000000-0000-4000-8000-00000000000a';
const REPORT = {
  type: 'execution_report',
  seq: 7,
  poss_dup: false,
  venue: 'SIMX',
  exec_id: 'E7',
  order_id: ORDER,
  exec_type: 'partial_fill',
  order_status: 'partially_filled',
  side: 'buy',
  last_qty: 1,
  last_px: '10.00',
  cum_qty: 1,
  leaves_qty: 9,
  avg_px: '10.000000',
  transact_time: '2026-12-01T10:00:00.000Z',
  ref_exec_id: null,
  text: null,
};
const line = (value: unknown) => ({ kind: 'line' as const, text: typeof value === 'string' ? value : JSON.stringify(value) });

describe('parseSessionLine', () => {
  it('a report takes its seq; so does a bad report whose seq reads; other bad lines are rejects at once', () => {
    expect(parseSessionLine(line(REPORT), 5)).toEqual({
      kind: 'sequenced',
      seq: 7,
      item: {
        seq: 7,
        report: REPORT,
        reject: null,
        raw: JSON.stringify(REPORT),
        readAt: 5,
        repair: false,
        executionLine: executionLine(REPORT as ExecutionReport),
      },
    });
    const badPrice = parseSessionLine(line({ ...REPORT, last_px: 'ten' }), 5);
    expect(badPrice).toMatchObject({ kind: 'sequenced', seq: 7, item: { seq: 7, report: null, reject: { reason: 'malformed' } } });
    expect(parseSessionLine(line({ ...REPORT, seq: 'x' }), 5)).toMatchObject({
      kind: 'bad',
      item: { seq: null, reject: { reason: 'malformed' } },
    });
    expect(parseSessionLine(line('{"type":'), 5)).toMatchObject({ kind: 'bad', item: { raw: '{"type":', reject: { detail: 'not JSON' } } });
    expect(parseSessionLine({ kind: 'too_long' }, 5)).toMatchObject({ kind: 'bad', item: { raw: '', reject: { reason: 'malformed' } } });
    expect(parseSessionLine(line({ type: 'new_order' }), 5)).toMatchObject({
      kind: 'bad',
      item: { reject: { detail: 'unexpected message on an execution session: new_order' } },
    });
  });

  it('heartbeats and the logon ack carry the venue\u2019s next seq; an invalid one is a bad line', () => {
    expect(parseSessionLine(line({ type: 'heartbeat', next_seq: 9 }), 0)).toEqual({ kind: 'heartbeat', nextSeq: 9 });
    expect(parseSessionLine(line({ type: 'logon_ack', session: 's', next_seq: 3 }), 0)).toEqual({ kind: 'logon_ack', nextSeq: 3 });
    expect(parseSessionLine(line({ type: 'heartbeat' }), 0)).toMatchObject({ kind: 'bad' });
  });
});

describe('Batcher', () => {
  it('writes a full batch at once, a partial one after the delay, one at a time; pauses the reader while far behind; drops what waits when stopped', async () => {
    vi.useFakeTimers();
    try {
      const writes: number[][] = [];
      let finish: () => void = () => {};
      const events: string[] = [];
      const batcher = new Batcher<number>({
        max: 2,
        delayMs: 5,
        write: (batch) => {
          writes.push(batch);
          return new Promise<void>((resolve) => {
            finish = resolve;
          });
        },
        isClosed: () => false,
        pause: () => events.push('pause'),
        resume: () => events.push('resume'),
      });
      batcher.enqueue([1]);
      expect(writes).toEqual([]);
      await vi.advanceTimersByTimeAsync(5);
      expect(writes).toEqual([[1]]);
      // In flight: the rest waits, and more than 4 × max waiting pauses the reader.
      batcher.enqueue([2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(writes).toHaveLength(1);
      expect(events).toEqual(['pause']);
      finish();
      await vi.advanceTimersByTimeAsync(0);
      expect(writes).toEqual([[1], [2, 3]]);
      for (let i = 0; i < 3; i++) {
        finish();
        await vi.advanceTimersByTimeAsync(0);
      }
      // Resumed once fewer than 2 × max wait.
      expect(events).toEqual(['pause', 'resume']);
      expect(writes.at(-1)).toEqual([8, 9]);
      batcher.enqueue([11]);
      const stopped = batcher.stop();
      finish();
      await stopped;
      await vi.advanceTimersByTimeAsync(10);
      expect(writes.flat()).not.toContain(10);
      expect(writes.flat()).not.toContain(11);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('RepairWindows', () => {
  it('opens once per order while open, covers its range until it ends', () => {
    const windows = new RepairWindows(1000);
    expect(windows.open({ orderId: ORDER, from: 2, to: 9 }, 0)).toBe(true);
    expect(windows.open({ orderId: ORDER, from: 1, to: 12 }, 500)).toBe(false);
    expect(windows.covers(ORDER, 2, 500)).toBe(true);
    expect(windows.covers(ORDER, 10, 500)).toBe(false);
    expect(windows.covers(ORDER, 5, 1000)).toBe(false);
    windows.prune(1000);
    expect(windows.open({ orderId: ORDER, from: 1, to: 12 }, 1000)).toBe(true);
  });
});

describe('nextSeqAfter', () => {
  it('one past the batch\u2019s highest seq in sequence; repairs and lines without a seq leave it', () => {
    const at = (seq: number | null, repair = false) => ({ seq, report: null, reject: null, raw: '', readAt: 0, repair });
    expect(nextSeqAfter(5, [at(5), at(null), at(7), at(6)])).toBe(8);
    expect(nextSeqAfter(10, [at(3, true), at(null)])).toBe(10);
  });
});
