// One clock for a run's timelines: seconds since its first timeline began, so that the probes of
// the sustained search stand side by side on one axis, each where it happened.
import type { ChartRun } from './input.js';

/** Each timeline of the run with its offset (seconds) from the first one's start. */
export function onOneClock(run: ChartRun): { part: ChartRun['parts'][number]; offsetS: number; index: number }[] {
  const first = run.parts[0]?.startedAtMs ?? 0;
  return run.parts.map((part, index) => ({ part, offsetS: (part.startedAtMs - first) / 1000, index }));
}

/** The x axis' title. */
export function timeAxisTitle(run: ChartRun): string {
  return run.parts.length > 1 ? 'seconds since the first probe began' : 'seconds since the arrivals began';
}
