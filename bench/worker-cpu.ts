// What one order costs the worker, A/B between checkouts: one PostgreSQL, Temporal dev server,
// venue and ingest process, and in each round one worker from each checkout at once, each on a
// task queue of its own and sent the same steady arrival rate, interleaved: what else runs on the
// machine weighs on all of them alike (a loaded machine batches more work per wake-up, and so
// spends less CPU per order: figures of runs one after the other are not comparable).
//   node --import tsx bench/worker-cpu.ts [--rate 10] [--seconds 40] [--rounds 3] [--variant NAME=DIR[:K=V,…]]…
// Without --variant: this checkout, named `this`. A variant's DIR is a checkout of the project (a
// `git archive` of a commit with node_modules linked and prisma/generated copied); its optional
// K=V list is extra environment for its worker (LOG_LEVEL=warn). Each variant's workflow code is
// bundled from its own DIR. --rate is per variant. The exchange is instant (no latency, no failures): the worker's own
// work is measured, not its waiting. CPU per order = worker CPU seconds from the first order of a
// run until every order of it is final and its workflow ended (terminal event taken), less what the worker spends
// idle (measured before) over the time after the last order was submitted, ÷ orders.
// BENCH_CPU_PROFILE_DIR: each worker also writes a V8 CPU profile there (bench/cpuprofile-summary.ts
// reads it); it slows the worker, so measure with and without it apart.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import getPort from 'get-port';
import { createPlacementStarter } from '../api/placement-client.js';
import { submitOrder } from '../api/submit-order.js';
import { FINAL_STATUSES } from '../domain/order.js';
import { startInfra } from './infra.js';
import { loadAverage, treeCpuSeconds } from './proc.js';
import { PROFILES } from './profile.js';
import { countOrders, instrumentFor, newOrder, openBench, queueFor, serviceEnv } from './scenarios.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    variant: { type: 'string', multiple: true },
    // Each worker's SDK series (its Prometheus exporter), their change over the measured run per order.
    'sdk-metrics': { type: 'boolean', default: false },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmupS = Number(values.warmup);
const rounds = Number(values.rounds);
const variants = (values.variant ?? [`this=${process.cwd()}`]).map((text) => {
  const [name, rest] = text.split(/=(.*)/s) as [string, string];
  const [dir, envText] = rest.split(/:(.*)/s) as [string, string | undefined];
  const env = Object.fromEntries((envText ?? '').split(',').flatMap((pair) => (pair ? [pair.split(/=(.*)/s) as [string, string]] : [])));
  return { name, dir: path.resolve(dir), env };
});

const log = (message: string) => process.stderr.write(`[worker-cpu] ${message}\n`);
const logDir = mkdtempSync(path.join(os.tmpdir(), 'worker-cpu-'));

function bundle(dir: string, name: string): string {
  const output = path.join(logDir, `bundle-${name}.js`);
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bundle-workflows.ts', output], { cwd: dir, stdio: 'ignore' });
  return output;
}

/** CPU seconds per thread name (main thread, the SDK's workflow threads, its Rust core's threads, libuv's pool). */
function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Node's worker threads keep the name `node`: the main thread is the one whose id is the pid's.
      const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')).replace(/[-_ ]?\d+$/, '');
      const name = tid === String(pid) ? 'main' : comm === 'node' ? 'node thread' : comm;
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      byName.set(name, (byName.get(name) ?? 0) + seconds);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}

async function startWorker(
  dir: string,
  env: Record<string, string>,
  name: string,
): Promise<{ child: ChildProcess; pid: number; spawnedAt: number }> {
  const logFile = path.join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'worker/main.ts'], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  for (;;) {
    const text = readFileSync(logFile, 'utf8');
    // A worker whose LOG_LEVEL hides the line: its warm-up orders wait for it to poll.
    if (text.includes('worker started') || performance.now() - spawnedAt > 15_000) return { child, pid: child.pid!, spawnedAt };
    if (child.exitCode !== null) throw new Error(`worker ${name} exited:\n${text.slice(-2000)}`);
    await sleep(50);
  }
}

const infra = await startInfra({ temporalDb: 'file', log });
const bench = await openBench({ ...PROFILES.short }, infra, log);
const bundles = new Map(variants.map((variant) => [variant.name, bundle(variant.dir, variant.name)]));
const results: Record<string, number[]> = {};
const IDLE_S = 10;

/** One variant's worker in a round: its own task queue and instrument, so that its orders are its own. */
async function startLane(variant: (typeof variants)[number], round: number) {
  const code = `wcpu${round}${variant.name}`.slice(0, 11);
  const queue = queueFor(code);
  const instrument = instrumentFor(code);
  const sdkMetrics = values['sdk-metrics'] ? `127.0.0.1:${await getPort()}` : undefined;
  const env = {
    ...serviceEnv(bench, queue, { EXCHANGE_LATENCY_MS: '0', EXCHANGE_FAILURE_RATE: '0' }),
    WORKFLOW_BUNDLE_PATH: bundles.get(variant.name)!,
    ...(sdkMetrics ? { TEMPORAL_METRICS_BIND_ADDRESS: sdkMetrics } : {}),
    ...variant.env,
  };
  const worker = await startWorker(variant.dir, env, `${variant.name}-${round}`);
  const placement = createPlacementStarter(bench.temporal, queue, bench.config.TEMPORAL_START_CONCURRENCY);
  const order = newOrder(instrument);
  const submit = () => submitOrder({ orders: bench.orders, placement, budgetMs: bench.config.ORDER_BUDGET_MS }, order).catch(() => {});
  return { variant, queue, instrument, worker, submit, sdkMetrics };
}

/**
 * Waits until every order of the lanes is final and every one of their workflows ended (its
 * terminal event taken): the work of each order is then all done, whichever lane lags behind.
 */
async function waitUntilDone(lanes: Lane[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const queues = lanes.map((lane) => `'${lane.queue}'`).join(', ');
  for (;;) {
    const { rows } = await bench.pool.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM orders WHERE instrument = ANY($1) AND NOT (status::text = ANY($2::text[]))`,
      [lanes.map((lane) => lane.instrument), FINAL_STATUSES],
    );
    const running =
      rows[0]!.open > 0
        ? 1
        : (
            await bench.temporal.workflow.count(
              `WorkflowType = 'placeOrderWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue IN (${queues})`,
            )
          ).count;
    if (rows[0]!.open === 0 && running === 0) return true;
    if (Date.now() > deadline) {
      log(`gave up waiting: ${rows[0]!.open} orders not final, ${running} workflows running`);
      return false;
    }
    await sleep(200);
  }
}

/** The SDK's counters (and histogram counts) of a worker, summed over their labels, by name. */
async function sdkCounters(address: string | undefined): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  if (!address) return counters;
  const text = await (await fetch(`http://${address}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^(temporal_\w+?(?:_total|_count))(?:\{[^}]*\})? ([\d.e+-]+)$/.exec(line);
    if (match) counters.set(match[1]!, (counters.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return counters;
}
type Lane = Awaited<ReturnType<typeof startLane>>;

/** `rate` orders a second to every lane, interleaved, for durationS; resolves once every submission answered. */
async function submitAtRate(lanes: Lane[], durationS: number): Promise<void> {
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < durationS * rate; i += 1) {
    const wait = started + (1000 * i) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    for (const lane of lanes) inFlight.push(lane.submit());
  }
  await Promise.all(inFlight);
}

try {
  for (let round = 0; round < rounds; round += 1) {
    // Every variant's worker at once, on the same machine at the same moment: what else runs
    // on it weighs on all of them alike. The order they are started in turns each round.
    const ordered = variants.map((_, i) => variants[(i + round) % variants.length]!);
    const lanes: Lane[] = [];
    try {
      for (const variant of ordered) lanes.push(await startLane(variant, round));
      // What an idle worker spends (its pollers, timers, metrics): taken off the drain's time below.
      const idle0 = lanes.map((lane) => treeCpuSeconds(lane.worker.pid));
      const idleStart = performance.now();
      await sleep(IDLE_S * 1000);
      const idleCores = lanes.map((lane, i) => (treeCpuSeconds(lane.worker.pid) - idle0[i]!) / ((performance.now() - idleStart) / 1000));
      await submitAtRate(lanes, warmupS);
      await waitUntilDone(lanes, 300_000);
      const before = await Promise.all(lanes.map((lane) => countOrders(bench, lane.instrument)));
      const load = loadAverage();
      const cpu0 = lanes.map((lane) => treeCpuSeconds(lane.worker.pid));
      const threads0 = lanes.map((lane) => threadCpu(lane.worker.pid));
      const sdk0 = await Promise.all(lanes.map((lane) => sdkCounters(lane.sdkMetrics)));
      const t0 = performance.now();
      await submitAtRate(lanes, seconds);
      const submittedS = (performance.now() - t0) / 1000;
      const finished = await waitUntilDone(lanes, 300_000);
      const wallS = (performance.now() - t0) / 1000;
      const loadAfter = loadAverage();
      for (const [i, lane] of lanes.entries()) {
        const cpuS = treeCpuSeconds(lane.worker.pid) - cpu0[i]!;
        const threads = [...threadCpu(lane.worker.pid)]
          .map(([name, total]) => [name, total - (threads0[i]!.get(name) ?? 0)] as const)
          .filter(([, used]) => used > 0)
          .sort((a, b) => b[1] - a[1]);
        const orders = (await countOrders(bench, lane.instrument)).total - before[i]!.total;
        const msPerOrder = (1000 * cpuS) / orders;
        const sdk = [...(await sdkCounters(lane.sdkMetrics))]
          .map(([name, value]) => [name, (value - (sdk0[i]!.get(name) ?? 0)) / orders] as const)
          .filter(([, perOrder]) => perOrder > 0);
        if (sdk.length > 0) {
          log(
            `${lane.variant.name} SDK per order: ${sdk.map(([name, perOrder]) => `${name.replace(/^temporal_/, '')} ${perOrder.toFixed(2)}`).join(', ')}`,
          );
        }
        // The drain's time (the last orders' ends, relayed by the ingest process) is mostly idle.
        const idleMs = 1000 * idleCores[i]! * (wallS - submittedS);
        const busyMsPerOrder = (1000 * cpuS - idleMs) / orders;
        results[lane.variant.name] = [...(results[lane.variant.name] ?? []), msPerOrder];
        log(
          `${lane.variant.name} round ${round + 1}: ${orders} orders, worker (pid ${lane.worker.pid}) ${cpuS.toFixed(2)} CPU-s over ${wallS.toFixed(1)} s, ` +
            `${msPerOrder.toFixed(2)} ms/order, ${busyMsPerOrder.toFixed(2)} without the drain's idle ${idleCores[i]!.toFixed(3)} core ` +
            `(${(wallS - submittedS).toFixed(1)} s)${finished ? '' : ' (not all finished)'}; load ${load} -> ${loadAfter}; ` +
            `window ${((t0 - lane.worker.spawnedAt) / 1000).toFixed(1)}-${((t0 - lane.worker.spawnedAt) / 1000 + wallS).toFixed(1)} s ` +
            `after spawn; threads (ms/order): ${threads.map(([name, used]) => `${name} ${((1000 * used) / orders).toFixed(2)}`).join(', ')}`,
        );
      }
    } finally {
      for (const lane of lanes) {
        lane.worker.child.kill('SIGTERM');
        await once(lane.worker.child, 'exit');
      }
    }
  }
} finally {
  await bench.close();
  await infra.stop();
  rmSync(logDir, { recursive: true, force: true });
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [name, figures] of Object.entries(results)) {
  process.stdout.write(`${name}: median ${median(figures).toFixed(2)} ms/order (${figures.map((ms) => ms.toFixed(2)).join(' ')})\n`);
}
process.exit(0);
