// Issue #24: what one order costs each process in CPU, for a healthy order and for one whose first
// exchange attempt fails (the worker's EXCHANGE_FIRST_ATTEMPT_FAILS: one retry per order, every
// order alike). Each variant: its own API and worker on a task queue of their own, the run's venue
// and ingest; each process's idle CPU measured first and taken off, then a fixed number of orders
// sent through the API at a modest steady rate, and the window closed once every one of them is
// final and its workflow ended.
import { setTimeout as sleep } from 'node:timers/promises';
import { FINAL_STATUSES } from '../domain/order.js';
import { readHistories } from './history.js';
import { httpLoad, type LoadResult } from './load.js';
import { machineCpu, treeCpuSeconds } from './proc.js';
import { type Bench, countOrders, instrumentFor, orderBody, queueFor, sampleOrders, serviceEnv } from './scenarios.js';
import { type Service, startApi, startWorker } from './services.js';

export const COST_PROCESSES = ['api', 'worker', 'temporal', 'postgres', 'venue', 'ingest'] as const;
export type CostProcess = (typeof COST_PROCESSES)[number];
/** Per process; null where the process is not known (a Temporal server started by hand). */
export type PerProcess = Record<CostProcess, number | null>;

export const COST_VARIANTS = ['healthy', 'firstAttemptFails'] as const;
export type CostVariantName = (typeof COST_VARIANTS)[number];

export interface CostResult {
  variant: CostVariantName;
  rate: number;
  /** Orders the API accepted in the measured window (the figures are per one of them). */
  orders: number;
  post: LoadResult;
  /** From the first POST until every order was final and its workflow ended. */
  windowS: number;
  /** False when the wait for the orders' end was given up: the figures then hold a part of their cost only. */
  complete: boolean;
  idleS: number;
  /**
   * Each process's background (idle) CPU, cores, taken off the window at this rate: the lower of
   * two readings, before the window and after it. One reading alone was at times not idle (a
   * worker just started, or still settling the warm-up, read 0.1 core, a fifth of its whole
   * cost at this rate).
   */
  idleCores: PerProcess;
  idleReadings: { before: PerProcess; after: PerProcess };
  /** CPU ms per order: (CPU seconds in the window − idle rate × window) ÷ orders. */
  msPerOrder: PerProcess;
  /** How busy the whole machine was during the window (other work runs on it too). */
  machineBusyPct: number;
  /** Of a sample of the window's orders, read after it: how many histories show a failed first exchange attempt. */
  histories: { sampled: number; firstAttemptFailed: number };
}

/** How many of the window's orders' histories are read back to check the variant did what it says. */
const HISTORY_SAMPLE = 30;

/** What makes the variant's orders differ, set on its worker. */
const WORKER_ENV: Record<CostVariantName, Record<string, string>> = {
  healthy: { EXCHANGE_FAILURE_RATE: '0' },
  firstAttemptFails: { EXCHANGE_FAILURE_RATE: '0', EXCHANGE_FIRST_ATTEMPT_FAILS: 'true' },
};
const CODE: Record<CostVariantName, string> = { healthy: 'costok', firstAttemptFails: 'costfail' };

export async function costScenario(bench: Bench, variant: CostVariantName): Promise<CostResult> {
  const { cost } = bench.profile;
  const code = CODE[variant];
  const queue = queueFor(code);
  const env = serviceEnv(bench, queue, WORKER_ENV[variant]);
  const [api, worker] = await Promise.all([startApi(`api-${code}`, env), startWorker(`worker-${code}`, env)]);
  try {
    bench.log(`cost, ${variant}: warm-up, ${cost.rate} orders/s for ${bench.profile.warmupS} s`);
    await sendAndWait(bench, api, queue, instrumentFor(`${code}w`), bench.profile.warmupS);
    const read = cpuReader(bench, api, worker);
    bench.log(`cost, ${variant}: idle CPU for ${cost.idleS} s`);
    const idleBefore = await idleCores(read, cost.idleS);
    bench.log(`cost, ${variant}: ${cost.rate} orders/s for ${cost.seconds} s, then until every order's workflow ended`);
    const before = read();
    const machineBefore = machineCpu();
    const t0 = performance.now();
    const instrument = instrumentFor(code);
    const { post, complete } = await sendAndWait(bench, api, queue, instrument, cost.seconds);
    const windowS = (performance.now() - t0) / 1000;
    const used = minus(read(), before);
    const machineBusy = busyPct(machineBefore, machineCpu());
    bench.log(`cost, ${variant}: idle CPU again for ${cost.idleS} s`);
    const idleAfter = await idleCores(read, cost.idleS);
    const idle = lower(idleBefore, idleAfter);
    const orders = (await countOrders(bench, instrument)).total;
    // Read after the window, so not in its CPU: the variant's orders must all be alike.
    const histories = await readHistories(bench.temporal, await sampleOrders(bench, instrument, HISTORY_SAMPLE));
    return {
      variant,
      rate: cost.rate,
      orders,
      post,
      windowS,
      complete,
      idleS: cost.idleS,
      idleCores: idle,
      idleReadings: { before: idleBefore, after: idleAfter },
      msPerOrder: perOrder(used, idle, windowS, orders),
      machineBusyPct: machineBusy,
      histories: { sampled: histories.length, firstAttemptFailed: histories.filter((h) => h.firstExchangeAttemptFailed).length },
    };
  } finally {
    await Promise.all([api.stop(), worker.stop()]);
  }
}

/** CPU seconds each of the six processes used so far. */
function cpuReader(bench: Bench, api: Service, worker: Service): () => PerProcess {
  const { infra } = bench;
  const pids: Record<CostProcess, number | null> = {
    api: api.pid,
    worker: worker.pid,
    temporal: infra.temporalPid,
    postgres: infra.postgresPid,
    venue: infra.venuePid,
    ingest: infra.ingestPid,
  };
  return () => mapProcesses((name) => (pids[name] === null ? null : treeCpuSeconds(pids[name])));
}

function mapProcesses(value: (name: CostProcess) => number | null): PerProcess {
  return Object.fromEntries(COST_PROCESSES.map((name) => [name, value(name)])) as PerProcess;
}

function minus(after: PerProcess, before: PerProcess): PerProcess {
  return mapProcesses((name) => {
    const [a, b] = [after[name], before[name]];
    return a === null || b === null ? null : a - b;
  });
}

function lower(a: PerProcess, b: PerProcess): PerProcess {
  return mapProcesses((name) => {
    const [x, y] = [a[name], b[name]];
    return x === null || y === null ? null : Math.min(x, y);
  });
}

/** Each process's CPU rate (cores) while nothing is sent: its timers, polls and heartbeats. */
async function idleCores(read: () => PerProcess, seconds: number): Promise<PerProcess> {
  const before = read();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const used = minus(read(), before);
  const elapsedS = (performance.now() - t0) / 1000;
  return mapProcesses((name) => (used[name] === null ? null : used[name] / elapsedS));
}

/** (CPU seconds in the window − idle rate × window) ÷ orders, in ms; null where a reading is missing. */
export function perOrder(used: PerProcess, idle: PerProcess, windowS: number, orders: number): PerProcess {
  return mapProcesses((name) => {
    const [cpuS, idleRate] = [used[name], idle[name]];
    if (cpuS === null || idleRate === null || orders === 0) return null;
    return (1000 * (cpuS - idleRate * windowS)) / orders;
  });
}

function busyPct(before: { busyS: number; totalS: number }, after: { busyS: number; totalS: number }): number {
  const totalS = after.totalS - before.totalS;
  return totalS > 0 ? (100 * (after.busyS - before.busyS)) / totalS : NaN;
}

/**
 * rate × seconds POST /orders (marketable limits, which the scripted venue fills at once), then
 * waits until every one is final and its workflow ended (not measured separately: the window
 * includes it, so that the fills' ingestion and the workflows' last tasks are counted).
 */
async function sendAndWait(
  bench: Bench,
  api: Service,
  queue: string,
  instrument: string,
  seconds: number,
): Promise<{ post: LoadResult; complete: boolean }> {
  const { rate, waitS } = bench.profile.cost;
  // One request a second per connection: the rate is held even when an answer takes a second.
  const post = await httpLoad({
    urls: [api.url],
    connections: rate,
    amount: rate * seconds,
    overallRate: rate,
    body: orderBody(instrument),
  });
  const complete = await waitUntilEnded(bench, instrument, queue, waitS * 1000);
  return { post, complete };
}

/** Until every order of the instrument is final and no order workflow of the queue runs; false past timeoutMs. */
async function waitUntilEnded(bench: Bench, instrument: string, queue: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await openOrders(bench, instrument);
    const running = open > 0 ? null : await runningWorkflows(bench, queue);
    if (open === 0 && running === 0) return true;
    if (Date.now() > deadline) {
      bench.log(`  gave up waiting: ${open} orders not final${running === null ? '' : `, ${running} workflows running`}`);
      return false;
    }
    await sleep(200);
  }
}

async function openOrders(bench: Bench, instrument: string): Promise<number> {
  const { rows } = await bench.pool.query<{ open: number }>(
    `SELECT count(*)::int AS open FROM orders WHERE instrument = $1 AND NOT (status::text = ANY($2::text[]))`,
    [instrument, FINAL_STATUSES],
  );
  return rows[0]?.open ?? 0;
}

/** The queue's order workflows still running (the worker's sweeper, another type, runs on). */
async function runningWorkflows(bench: Bench, queue: string): Promise<number> {
  const { count } = await bench.temporal.workflow.count(
    `WorkflowType = 'placeOrderWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${queue}'`,
  );
  return count;
}
