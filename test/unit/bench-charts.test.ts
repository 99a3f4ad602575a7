import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderRun } from '../../bench/charts/charts.js';
import { readChartInput } from '../../bench/charts/input.js';
import { ORDER_STAGES, orderTime } from '../../bench/order-stages.js';
import { countPerSecond, LatencyBySecond } from '../../bench/per-second.js';
import { buildTimeline } from '../../bench/timeline.js';

// The benchmark's series for the charts (bench/per-second.ts, order-stages.ts, timeline.ts) and
// the charts made of them (bench/charts/), on a small synthetic fixture: the SVGs must hold the
// fixture's marks, axis titles and legends. The figures of a real run are not tested here.

const fixture: unknown = JSON.parse(readFileSync(new URL('../fixtures/bench-timeline.json', import.meta.url), 'utf8'));

describe('per-second series', () => {
  it('counts times by the second from the start, leaving out earlier ones', () => {
    expect(countPerSecond([999, 1000, 1500, 3999, 500], 1000)).toEqual([2, 0, 1]);
  });

  it('files a latency under the second its request was sent', () => {
    const bySecond = new LatencyBySecond(10_000);
    bySecond.record(10_400, 100); // sent at 10,300: second 0
    bySecond.record(11_100, 300); // sent at 10,800: second 0
    bySecond.record(12_900, 50); // sent at 12,850: second 2
    bySecond.record(10_050, 100); // sent before the start: left out
    const [first, second, third] = bySecond.summaries();
    expect(first?.count).toBe(2);
    expect(first?.p99Ms).toBeCloseTo(300, 0);
    expect(second).toBeNull();
    expect(third).toMatchObject({ count: 1 });
    expect(third?.p50Ms).toBeCloseTo(50, 0);
  });

  it('builds one row per second, placements after the arrivals included', () => {
    const timeline = buildTimeline({
      startedAtMs: 0,
      rate: 2,
      times: [
        { createdMs: 100, placedMs: 900 },
        { createdMs: 600, placedMs: 2_100 },
        { createdMs: 1_200, placedMs: null },
      ],
      post: [{ count: 2, p50Ms: 10, p90Ms: 20, p99Ms: 30, maxMs: 30 }],
      orders: [],
      ordersLeftOut: 0,
    });
    expect(timeline.seconds.map(({ s, accepted, placed }) => [s, accepted, placed])).toEqual([
      [0, 2, 1],
      [1, 1, 0],
      [2, 0, 1],
    ]);
    expect(timeline.seconds[1]!.post).toBeNull();
  });
});

describe("an order's stages", () => {
  it('splits created_at → first task completion at each timestamp, a negative span counted as 0', () => {
    const time = orderTime(
      {
        createdMs: 10_000,
        acceptedMs: 10_060,
        workflowStartedMs: 10_040,
        taskStartedMs: 10_100,
        placingMs: 10_130,
        placedMs: 10_640,
        taskCompletedMs: 10_639, // a millisecond before placed_at: another clock's rounding
      },
      9_000,
    );
    expect(time).toEqual({
      atS: 1,
      lagMs: 640,
      acceptedMs: 60,
      stages: { start: 40, dispatch: 60, claim: 30, exchange: 510, record: 0 },
    });
  });
});

describe('the charts', () => {
  it('reads the steady run and the sustained probes, oldest first, and says why a scenario has none', () => {
    const input = readChartInput(fixture);
    expect(input.runs.map((run) => [run.name, run.parts.length])).toEqual([
      ['steady', 1],
      ['sustained', 2],
    ]);
    const [first, second] = input.runs[1]!.parts;
    expect(first!.startedAtMs).toBeLessThan(second!.startedAtMs);
    expect(input.runs[0]!.source).toBe('synthetic example data, not a measurement');
    expect(readChartInput({ steady: { error: 'boom' }, sustained: { probes: [] } }).skipped).toEqual([
      'steady: the scenario failed (boom)',
      'sustained: no timeline (a results file from before the timelines were recorded?)',
    ]);
  });

  it("draws each run's three SVGs with their series, axis titles and legends", async () => {
    const steady = readChartInput(fixture).runs[0]!;
    const timeline = steady.parts[0]!;
    const svgs = Object.fromEntries((await renderRun(steady)).map(({ file, svg }) => [file, svg]));
    expect(Object.keys(svgs)).toEqual(['steady-throughput.svg', 'steady-post-latency.svg', 'steady-order-time.svg']);
    for (const svg of Object.values(svgs)) {
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('synthetic example data, not a measurement');
      expect(svg).toContain('seconds since the arrivals began');
    }
    const count = (svg: string, text: string) => svg.split(text).length - 1;

    const throughput = svgs['steady-throughput.svg']!;
    expect(throughput).toContain('Orders accepted and placed per second');
    expect(throughput).toContain('orders per second');
    for (const series of ['rate asked', 'accepted (created_at)', 'placed (placed_at)']) expect(throughput).toContain(`>${series}</text>`);
    expect(count(throughput, 'aria-roledescription="line mark"')).toBe(3);

    const latency = svgs['steady-post-latency.svg']!;
    expect(latency).toContain('latency (ms, log scale)');
    for (const percentile of ['p50', 'p90', 'p99']) expect(latency).toContain(`>${percentile}</text>`);
    const answeredSeconds = timeline.seconds.filter((second) => second.post !== null).length;
    expect(count(latency, 'aria-roledescription="point"')).toBe(3 * answeredSeconds);

    const orders = svgs['steady-order-time.svg']!;
    expect(orders).toContain('ms since created_at');
    for (const stage of ORDER_STAGES) expect(orders).toContain(`>${stage.label}</text>`);
    expect(count(orders, 'aria-roledescription="bar"')).toBe(ORDER_STAGES.length * timeline.orders.length);
    expect(orders).toContain(`${timeline.orders.length} orders spread over the run`);
  });
});
