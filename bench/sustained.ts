// The sustained rate (issue 14): the highest arrival rate at which every order is placed with a
// lag (created_at → placed_at) of p50 ≤ 0.6 s and p99 ≤ 1.5 s. Orders arrive through one API
// process at a fixed rate (open model) and one worker places them, exchange at its defaults.
// Rates are probed upwards, each for profile.sustained.probeS; the highest that held is then
// kept for confirmS (5 minutes in the full run), and one step lower if that does not hold.
import type { LatencySummary } from './histogram.js';
import { summariseMs } from './histogram.js';
import { type HistorySummary, readHistories, summariseCounts } from './history.js';
import { httpLoad, type LoadResult } from './load.js';
import { orderTimes, spreadSample } from './order-time.js';
import { LatencyBySecond } from './per-second.js';
import {
  type Bench,
  type CpuUse,
  countOrders,
  cpuMeter,
  instrumentFor,
  orderBody,
  placementTimes,
  queueFor,
  serviceEnv,
  waitUntilFinished,
  waitUntilPlaced,
} from './scenarios.js';
import { type Service, startApi, startWorker } from './services.js';
import { buildTimeline, type Timeline } from './timeline.js';

export const SUSTAINED_LAG_P50_MS = 600;
export const SUSTAINED_LAG_P99_MS = 1500;
/** How long a probe's last orders get to be placed after its arrivals stopped. */
const DRAIN_S = 30;
const CONNECTIONS = 64;
/** Arrivals before the first probe, not measured: the processes' first seconds (connections, caches, the JIT) are not the rate's. */
const WARMUP_S = 15;
const TIMES_SAMPLE = 100;

export interface SustainedProbe {
  rate: number;
  seconds: number;
  post: LoadResult;
  orders: number;
  allPlaced: boolean;
  lag: LatencySummary;
  cpu: CpuUse;
  held: boolean;
  /** Where a sample of its orders' time went (healthy ones): the API, Temporal's dispatch, the first workflow task. */
  times: HistorySummary['times'] | null;
  /** Per second and per order, for the charts (bench/charts/). */
  timeline: Timeline;
}

export interface SustainedResult {
  probes: SustainedProbe[];
  /** The probe held for confirmS at the highest rate that held (null when none held or not confirmed). */
  confirmed: SustainedProbe | null;
  confirmS: number;
}

export async function sustainedScenario(bench: Bench): Promise<SustainedResult> {
  const { fromRate, step, toRate, probeS, confirmS } = bench.profile.sustained;
  const env = serviceEnv(bench, queueFor('sustain'));
  const [api, worker] = await Promise.all([startApi('api-sustain', env), startWorker('worker-sustain', env)]);
  try {
    bench.log(`sustained: warm-up, ${fromRate} orders/s for ${WARMUP_S} s`);
    await arrivals(bench, api, worker, fromRate, WARMUP_S, 'swarm');
    const probes: SustainedProbe[] = [];
    let best: number | null = null;
    for (let rate = fromRate; rate <= toRate; rate += step) {
      const probe = await arrivals(bench, api, worker, rate, probeS, `sp${rate}`);
      probes.push(probe);
      bench.log(
        `  ${rate}/s for ${probeS} s: lag p50 ${probe.lag.p50Ms} ms, p99 ${probe.lag.p99Ms} ms; ${probe.held ? 'held' : 'did not hold'}`,
      );
      if (!probe.held) break;
      best = rate;
    }
    let confirmed: SustainedProbe | null = null;
    if (best !== null && confirmS > 0) {
      for (const rate of [best, best - step]) {
        if (rate < fromRate) break;
        const probe = await arrivals(bench, api, worker, rate, confirmS, `sc${rate}`);
        bench.log(
          `  confirm ${rate}/s for ${confirmS} s: lag p50 ${probe.lag.p50Ms} ms, p99 ${probe.lag.p99Ms} ms; ${probe.held ? 'held' : 'did not hold'}`,
        );
        if (probe.held) {
          confirmed = probe;
          break;
        }
      }
    }
    return { probes, confirmed, confirmS };
  } finally {
    await Promise.all([api.stop(), worker.stop()]);
  }
}

async function arrivals(bench: Bench, api: Service, worker: Service, rate: number, seconds: number, code: string): Promise<SustainedProbe> {
  const instrument = instrumentFor(code);
  bench.log(`sustained: ${rate} orders/s for ${seconds} s`);
  const cpu = cpuMeter(bench, { api: [api], worker: [worker] });
  const bySecond = new LatencyBySecond(Date.now());
  const post = await httpLoad({
    urls: [api.url],
    connections: CONNECTIONS,
    durationS: seconds,
    overallRate: rate,
    body: orderBody(instrument),
    bySecond,
  });
  const cpuUse = cpu();
  const accepted = await countOrders(bench, instrument);
  const allPlaced = await waitUntilPlaced(bench, instrument, accepted.total, DRAIN_S * 1000);
  const stoppedAt = Date.now();
  const times = await placementTimes(bench, instrument);
  const lag = summariseMs(times.map((time) => (time.placedMs ?? stoppedAt) - time.createdMs));
  // The next probe starts with nothing of this one left in Temporal (workflows waiting for their end).
  await waitUntilFinished(bench, [instrument], DRAIN_S * 1000);
  const sample = await readHistories(bench.temporal, await spreadSample(bench, instrument, TIMES_SAMPLE));
  const histories = summariseCounts(sample);
  const charted = await orderTimes(bench, sample, bySecond.startMs);
  const errors = post.errors + post.non2xx;
  return {
    rate,
    seconds,
    post,
    orders: times.length,
    allPlaced,
    lag,
    cpu: cpuUse,
    times: histories.healthy?.times ?? null,
    timeline: buildTimeline({
      startedAtMs: bySecond.startMs,
      rate,
      times,
      post: bySecond.summaries(),
      orders: charted.orders,
      ordersLeftOut: charted.leftOut,
    }),
    // Arrivals at the rate asked (the load generator kept up) and every one accepted.
    held:
      allPlaced && errors === 0 && post.perSecond >= 0.95 * rate && lag.p50Ms <= SUSTAINED_LAG_P50_MS && lag.p99Ms <= SUSTAINED_LAG_P99_MS,
  };
}
