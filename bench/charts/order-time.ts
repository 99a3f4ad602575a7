// Chart: where the time of a sample of orders went, one stacked bar per order at the moment it
// was created, its stages (bench/order-stages.ts) stacked from created_at up to the completion
// of its first workflow task; a black tick marks when the API recorded its acceptance, which
// the claim waits for.
import type { TopLevelSpec } from 'vega-lite';
import { ORDER_STAGES } from '../order-stages.js';
import { onOneClock, timeAxisTitle } from './clock.js';
import type { ChartRun } from './input.js';

export function orderTimeSpec(run: ChartRun): TopLevelSpec {
  const parts = onOneClock(run);
  const bars = parts.flatMap(({ part, offsetS }) =>
    part.orders.flatMap((order) =>
      ORDER_STAGES.map((stage, rank) => ({ t: offsetS + order.atS, stage: stage.label, rank, ms: order.stages[stage.key] })),
    ),
  );
  const accepted = parts.flatMap(({ part, offsetS }) =>
    part.orders.flatMap((order) => (order.acceptedMs === null ? [] : [{ t: offsetS + order.atS, ms: order.acceptedMs }])),
  );
  const charted = parts.reduce((sum, { part }) => sum + part.orders.length, 0);
  const leftOut = parts.reduce((sum, { part }) => sum + part.ordersLeftOut, 0);
  // From 0: Vega-Lite would pad a continuous axis for the bars' width, into negative seconds.
  const x = { field: 't', type: 'quantitative', title: timeAxisTitle(run), scale: { domainMin: 0 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: "Where an order's time goes, created_at to its first workflow task's completion",
      subtitle: [
        `${run.title}: ${charted} orders spread over the run`,
        ...(leftOut > 0 ? [`(not shown: ${leftOut} more of the sample, not placed in their first workflow task)`] : []),
        'black tick: the API recorded the acceptance, which the claim waits for',
        run.source,
      ],
    },
    width: 640,
    height: 260,
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', width: 3 },
        encoding: {
          x,
          y: { field: 'ms', type: 'quantitative', title: 'ms since created_at', stack: 'zero' },
          color: {
            field: 'stage',
            type: 'nominal',
            title: null,
            scale: { domain: ORDER_STAGES.map((stage) => stage.label) },
            legend: { orient: 'bottom', columns: 2, labelLimit: 320 },
          },
          order: { field: 'rank', type: 'ordinal' },
        },
      },
      {
        data: { values: accepted },
        mark: { type: 'tick', orient: 'horizontal', color: 'black', thickness: 1, size: 7 },
        encoding: { x, y: { field: 'ms', type: 'quantitative' } },
      },
    ],
  };
}
