// The charts each run gets, and their file names (docs/benchmarks.md embeds them by these names).
import type { TopLevelSpec } from 'vega-lite';
import type { ChartRun } from './input.js';
import { orderTimeSpec } from './order-time.js';
import { postLatencySpec } from './post-latency.js';
import { renderSvg } from './render.js';
import { throughputSpec } from './throughput.js';

const CHARTS: { name: string; spec: (run: ChartRun) => TopLevelSpec }[] = [
  { name: 'throughput', spec: throughputSpec },
  { name: 'post-latency', spec: postLatencySpec },
  { name: 'order-time', spec: orderTimeSpec },
];

/** `<run>-<chart>.svg` and its text, for each chart of the run. */
export async function renderRun(run: ChartRun): Promise<{ file: string; svg: string }[]> {
  const out: { file: string; svg: string }[] = [];
  for (const chart of CHARTS) out.push({ file: `${run.name}-${chart.name}.svg`, svg: await renderSvg(chart.spec(run)) });
  return out;
}
