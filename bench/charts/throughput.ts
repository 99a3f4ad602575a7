// Chart: orders accepted (created_at) and placed (placed_at) per second, against the rate asked.
// Placements that fall behind the arrivals show as a gap between the two lines, and a backlog as
// placements going on after the arrivals stopped.
import type { TopLevelSpec } from 'vega-lite';
import { onOneClock, timeAxisTitle } from './clock.js';
import type { ChartRun } from './input.js';

const SERIES = ['rate asked', 'accepted (created_at)', 'placed (placed_at)'] as const;

export function throughputSpec(run: ChartRun): TopLevelSpec {
  const rows = onOneClock(run).flatMap(({ part, offsetS, index }) =>
    part.seconds.flatMap((second) => [
      // The rate asked, over the seconds in which requests were sent.
      ...(second.post ? [{ t: offsetS + second.s, series: SERIES[0], perSecond: part.rate, part: index }] : []),
      { t: offsetS + second.s, series: SERIES[1], perSecond: second.accepted, part: index },
      { t: offsetS + second.s, series: SERIES[2], perSecond: second.placed, part: index },
    ]),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Orders accepted and placed per second', subtitle: [run.title, run.source] },
    width: 640,
    height: 220,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: timeAxisTitle(run) },
      y: { field: 'perSecond', type: 'quantitative', title: 'orders per second' },
      color: { field: 'series', type: 'nominal', title: null, sort: [...SERIES], legend: { orient: 'top', labelLimit: 320 } },
      // The same field as the colour, with the same legend settings: one legend shows both.
      strokeDash: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: [...SERIES],
        legend: { orient: 'top', labelLimit: 320 },
        scale: {
          range: [
            [4, 3],
            [1, 0],
            [1, 0],
          ],
        },
      },
      detail: { field: 'part', type: 'nominal' },
    },
  };
}
