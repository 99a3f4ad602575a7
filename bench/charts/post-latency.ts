// Chart: POST /orders latency p50, p90 and p99 of the requests sent in each second. A log scale,
// as the percentiles of a saturated API differ by orders of magnitude.
import type { TopLevelSpec } from 'vega-lite';
import { onOneClock, timeAxisTitle } from './clock.js';
import type { ChartRun } from './input.js';

const PERCENTILES = [
  { name: 'p50', pick: 'p50Ms' },
  { name: 'p90', pick: 'p90Ms' },
  { name: 'p99', pick: 'p99Ms' },
] as const;

export function postLatencySpec(run: ChartRun): TopLevelSpec {
  const rows = onOneClock(run).flatMap(({ part, offsetS, index }) =>
    part.seconds.flatMap((second) =>
      second.post
        ? PERCENTILES.map(({ name, pick }) => ({
            t: offsetS + second.s,
            percentile: name,
            ms: Math.max(0.1, second.post![pick]),
            part: index,
          }))
        : [],
    ),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'POST /orders latency, per second the requests were sent in', subtitle: [run.title, run.source] },
    width: 640,
    height: 220,
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 1.5, point: { size: 12 } },
    encoding: {
      x: { field: 't', type: 'quantitative', title: timeAxisTitle(run) },
      y: { field: 'ms', type: 'quantitative', title: 'latency (ms, log scale)', scale: { type: 'log' } },
      color: {
        field: 'percentile',
        type: 'nominal',
        title: null,
        sort: PERCENTILES.map((p) => p.name),
        legend: { orient: 'top', labelLimit: 320 },
      },
      detail: { field: 'part', type: 'nominal' },
    },
  };
}
