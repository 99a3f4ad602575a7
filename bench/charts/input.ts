// What the charts read from a results file (`npm run bench -- --json FILE`): the timelines of the
// steady run and of the sustained-rate probes (bench/timeline.ts), and what says where they come
// from. Checked with zod, so that a file from before the timelines existed, or a scenario that
// failed, is told apart from a chart with nothing in it.
import { z } from 'zod';
import { ORDER_STAGES, type OrderStage } from '../order-stages.js';
import type { Timeline } from '../timeline.js';

const stageKeys = ORDER_STAGES.map((stage) => stage.key) as [OrderStage, ...OrderStage[]];

const timelineSchema = z.object({
  startedAtMs: z.number(),
  rate: z.number(),
  seconds: z.array(
    z.object({
      s: z.number(),
      accepted: z.number(),
      placed: z.number(),
      post: z.object({ count: z.number(), p50Ms: z.number(), p90Ms: z.number(), p99Ms: z.number(), maxMs: z.number() }).nullable(),
    }),
  ),
  orders: z.array(
    z.object({
      atS: z.number(),
      lagMs: z.number(),
      acceptedMs: z.number().nullable(),
      stages: z.record(z.enum(stageKeys), z.number()),
    }),
  ),
  ordersLeftOut: z.number(),
}) satisfies z.ZodType<Timeline>;

const withTimeline = z.object({ timeline: timelineSchema });

const resultsSchema = z.object({
  /** Set only in hand-made files (the fixture of the tests and of the committed example charts). */
  note: z.string().optional(),
  machine: z.object({ date: z.string(), commit: z.string(), cores: z.number() }).optional(),
  loadBefore: z.string().optional(),
  loadAfter: z.string().optional(),
  steady: z.unknown().optional(),
  sustained: z.unknown().optional(),
});

const sustainedSchema = z.object({ probes: z.array(withTimeline), confirmed: withTimeline.nullable() });

/** One scenario's charts: its timelines (one for the steady run, one per probe for the sustained search), oldest first. */
export interface ChartRun {
  name: 'steady' | 'sustained';
  /** What the charts' titles call it. */
  title: string;
  /** Where the figures come from (or that they are an example), under every title. */
  source: string;
  parts: Timeline[];
}

export interface ChartInput {
  runs: ChartRun[];
  /** Scenarios present in the file but without timelines, and why. */
  skipped: string[];
}

export function readChartInput(json: unknown): ChartInput {
  const results = resultsSchema.parse(json);
  const source =
    results.note ??
    [
      results.machine ? `${results.machine.date.slice(0, 16).replace('T', ' ')} UTC, commit ${results.machine.commit}` : null,
      results.machine ? `${results.machine.cores} cores` : null,
      // The 1-minute load averages before and after the run: how busy the machine was.
      results.loadBefore ? `load ${firstOf(results.loadBefore)} → ${results.loadAfter ? firstOf(results.loadAfter) : '?'}` : null,
    ]
      .filter((part): part is string => part !== null)
      .join(', ');
  const runs: ChartRun[] = [];
  const skipped: string[] = [];
  if (results.steady !== undefined) {
    const steady = withTimeline.safeParse(results.steady);
    if (steady.success) {
      runs.push({ name: 'steady', title: `steady run, ${steady.data.timeline.rate} orders/s`, source, parts: [steady.data.timeline] });
    } else skipped.push(`steady: ${whyNot(results.steady)}`);
  }
  if (results.sustained !== undefined) {
    const sustained = sustainedSchema.safeParse(results.sustained);
    if (sustained.success) {
      const parts = [...sustained.data.probes, ...(sustained.data.confirmed ? [sustained.data.confirmed] : [])]
        .map((probe) => probe.timeline)
        .sort((a, b) => a.startedAtMs - b.startedAtMs);
      runs.push({
        name: 'sustained',
        title: `sustained-rate search, ${parts.map((part) => part.rate).join(', ')} orders/s`,
        source,
        parts,
      });
    } else skipped.push(`sustained: ${whyNot(results.sustained)}`);
  }
  return { runs, skipped };
}

const firstOf = (loadAverages: string) => loadAverages.trim().split(/\s+/)[0];

function whyNot(outcome: unknown): string {
  if (typeof outcome === 'object' && outcome !== null && 'error' in outcome) return `the scenario failed (${String(outcome.error)})`;
  return 'no timeline (a results file from before the timelines were recorded?)';
}
