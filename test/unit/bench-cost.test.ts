import { describe, expect, it } from 'vitest';
import { type CostResult, type PerProcess, perOrder } from '../../bench/cost.js';
import { costRows } from '../../bench/cost-report.js';
import type { FloorResult } from '../../bench/floor.js';
import type { Row } from '../../bench/report.js';

// The CPU-per-order figures of `npm run bench` (issue #24, bench/cost.ts): the arithmetic that
// takes each process's background off, and the rows printed, on made-up readings.
const processes = (values: Partial<PerProcess>): PerProcess => ({
  api: null,
  worker: null,
  temporal: null,
  postgres: null,
  venue: null,
  ingest: null,
  ...values,
});

function result(variant: CostResult['variant'], msPerOrder: PerProcess): CostResult {
  return {
    variant,
    rate: 10,
    orders: 100,
    post: {
      completed: 100,
      perSecond: 10,
      latency: {} as CostResult['post']['latency'],
      non2xx: 0,
      errors: 0,
      statusCodes: { 201: 100 },
      durationS: 10,
    },
    windowS: 11,
    complete: true,
    idleS: 5,
    idleCores: processes({ api: 0.01, worker: 0.01, temporal: 0.02, postgres: 0.01, venue: 0, ingest: 0 }),
    idleReadings: {
      before: processes({ api: 0.01, worker: 0.1, temporal: 0.02, postgres: 0.01, venue: 0, ingest: 0 }),
      after: processes({ api: 0.02, worker: 0.01, temporal: 0.03, postgres: 0.01, venue: 0, ingest: 0 }),
    },
    msPerOrder,
    machineBusyPct: 50,
    histories: { sampled: 30, firstAttemptFailed: 0 },
  };
}

const floor = { temporalCpuMsPerWorkflow: 10 } as FloorResult;

function render(outcomes: Parameters<typeof costRows>[0], withFloor: FloorResult | undefined): Row[] {
  const rows: Row[] = [];
  costRows(
    outcomes,
    withFloor,
    rows,
    (title) => rows.push({ measure: title, figure: '' }),
    (measure) => rows.push({ measure, figure: 'FAILED' }),
  );
  return rows;
}

describe('CPU per order', () => {
  it("takes each process's idle rate over the window off, per order, in ms", () => {
    const used = processes({ api: 1.2, temporal: 3, venue: 0.1 });
    const idle = processes({ api: 0.02, temporal: 0.1, venue: 0 });
    const ms = perOrder(used, idle, 10, 100);
    expect(ms.api).toBeCloseTo(10); // (1.2 − 0.2) s ÷ 100
    expect(ms.temporal).toBeCloseTo(20); // (3 − 1) s ÷ 100
    expect(ms.venue).toBeCloseTo(1);
    expect(ms.worker).toBeNull(); // not read: not made up
  });

  it("prints one row per variant with every process, the sum, and the server's figure as a multiple of the floor (e)", () => {
    const healthy = processes({ api: 4, worker: 15, temporal: 20, postgres: 5, venue: 1, ingest: 3 });
    const failing = processes({ api: 5, worker: 18, temporal: 25, postgres: 6, venue: 1.5, ingest: 3 });
    const rows = render({ healthy: result('healthy', healthy), firstAttemptFails: result('firstAttemptFails', failing) }, floor);
    const [healthyRow, failingRow, difference] = rows.slice(1);
    expect(healthyRow?.figure).toContain(
      'API 4.0, worker 15.0, Temporal server 20.0 (2.0× the floor (e), 10.0 ms), PostgreSQL 5.0, venue 1.0, ingest 3.0; sum 48.0 ms',
    );
    expect(failingRow?.measure).toContain('first exchange attempt fails');
    expect(failingRow?.figure).toContain('Temporal server 25.0 (2.5× the floor (e)');
    expect(difference?.figure).toContain('Temporal server +5.0, ');
    expect(difference?.figure).toContain('sum +10.5 ms');
  });

  it('names no floor when the limits did not run, and says which variant failed', () => {
    const rows = render({ healthy: result('healthy', processes({ temporal: 20 })), firstAttemptFails: { error: 'boom' } }, undefined);
    expect(rows[1]?.figure).toContain('Temporal server 20.0; sum 20.0 ms');
    expect(rows[1]?.figure).not.toContain('floor');
    expect(rows[2]).toMatchObject({ figure: 'FAILED' });
    expect(rows).toHaveLength(3);
  });
});
