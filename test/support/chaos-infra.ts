// The system the chaos harness (test/support/chaos.ts) attacks: its own embedded PostgreSQL, its
// own Temporal dev server (state in a SQLite file, as `npm start` runs it, so that a kill and a
// restart lose nothing), the simulated venue (scripted: market orders fill at once) with its
// ledger in that PostgreSQL, one ingestion process, two API and two worker processes, and the
// handles that freeze, kill and restart each part.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import getPort from 'get-port';
import { findProcess, processTree } from '../../bench/proc.js';
import { applyMigrations } from '../../prisma/migrate.js';
import { type RunningPostgres, startEmbeddedPostgres } from '../../scripts/infra/embedded-postgres.js';
import { type RunningTemporal, startTemporalDevServer } from '../../scripts/infra/temporal-dev-server.js';
import { writeWorkflowBundle } from '../../worker/workflow-bundle.js';
import { type PgProxy, startPgProxy } from './pg-proxy.js';

export type Log = (line: string) => void;

/** A server process tree that can be frozen (SIGSTOP), resumed, killed (SIGKILL) and restarted. */
export interface ServerHandle {
  /** Its main process now (a restart changes it). */
  pid(): number;
  /** SIGSTOP of the process and every descendant; returns the pids stopped. */
  freeze(): number[];
  /** SIGCONT of everything freeze() stopped (and of the tree as it is now). */
  resume(): void;
  /** SIGKILL of the process and every descendant; resolves once none of them runs. */
  kill(): Promise<number[]>;
  /** Starts it again on the same data and port (after kill()). */
  restart(): Promise<void>;
}

export interface StackOptions {
  log: Log;
  /** Route the APIs' database connections through a wire-protocol proxy (for lost answers). */
  proxy: boolean;
  /** A prebuilt workflow bundle for the workers (bundling once saves seconds per worker start). */
  workflowBundlePath: string;
  /** Extra environment of every API and worker process. */
  env?: Record<string, string>;
}

export interface Stack {
  databaseUrl: string;
  /** The venue's order entry (host:port) and control port (base URL). */
  venue: { address: string; controlUrl: string };
  postgres: ServerHandle;
  temporal: ServerHandle;
  proxy: PgProxy | undefined;
  fleet: Fleet;
  stop(): Promise<void>;
}

/**
 * The services' settings in the harness: a short stale-order sweep so that orders whose request
 * died are settled within the run, and a fast exchange with the service's default failure rate.
 */
export const CHAOS_SERVICE_ENV = {
  STALE_ORDER_AFTER_MS: '15000',
  SWEEP_INTERVAL_MS: '2000',
  EXCHANGE_LATENCY_MS: '50',
  EXCHANGE_FAILURE_RATE: '0.1',
};

/** Bundles the workflow code once into `dir` for every worker the harness starts. */
export async function prepareWorkflowBundle(dir: string): Promise<string> {
  const file = path.join(dir, 'workflow-bundle.js');
  await writeWorkflowBundle(file);
  return file;
}

const runningStacks = new Set<() => Promise<void>>();

/** Stops every stack still up (on a signal: a frozen server must not be left stopped). */
export async function stopAllStacks(): Promise<void> {
  await Promise.allSettled([...runningStacks].map((stop) => stop()));
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { log } = options;
  const cleanups: (() => Promise<unknown>)[] = [];
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'order-service-chaos-'));
  await chmod(tempDir, 0o755); // PostgreSQL runs as its own user when we are root
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
      await rm(tempDir, { recursive: true, force: true });
      runningStacks.delete(stop);
    })());
  runningStacks.add(stop);
  try {
    const dataDir = path.join(tempDir, 'postgres');
    const running = await startEmbeddedPostgres({ dataDir, port: await getPort() });
    const postgres = postgresHandle(running, dataDir, log);
    // Whatever happened, a frozen server is continued before it is asked to stop.
    cleanups.push(async () => {
      postgres.resume();
      await running.stop();
    });
    await applyMigrations(running.url);

    const temporalPort = await getPort();
    const runningTemporal = await startTemporalDevServer({ port: temporalPort, uiPort: null, dbFile: path.join(tempDir, 'temporal.db') });
    const temporal = temporalHandle(runningTemporal, temporalPort, log);
    cleanups.push(async () => {
      temporal.resume();
      await runningTemporal.stop();
    });

    const proxy = options.proxy ? await startPgProxy({ host: '127.0.0.1', port: Number(new URL(running.url).port) }) : undefined;
    if (proxy) cleanups.push(() => proxy.close());

    const fleet = new Fleet(log);
    cleanups.push(() => fleet.stop());
    // The venue first (ingest and the workers connect to it); supervised like the services, on
    // the same ports and report log after a restart, so an exit of its own is recovered from and
    // reported. Its ledger is in the harness's PostgreSQL: what the counts read.
    const venuePort = await getPort();
    const venueControlPort = await getPort();
    const venue = { address: `127.0.0.1:${venuePort}`, controlUrl: `http://127.0.0.1:${venueControlPort}` };
    await fleet.add('venue', 'venue', {
      DATABASE_URL: running.url,
      VENUE_HOST: '127.0.0.1',
      VENUE_PORT: String(venuePort),
      VENUE_CONTROL_PORT: String(venueControlPort),
      VENUE_DATA_DIR: path.join(tempDir, 'venue'),
      VENUE_MODE: 'scripted',
    });
    const common = {
      ...CHAOS_SERVICE_ENV,
      TEMPORAL_ADDRESS: runningTemporal.address,
      TEMPORAL_TASK_QUEUE: 'orders',
      VENUE_ADDRESS: venue.address,
      ...options.env,
    };
    await Promise.all([
      fleet.add('ingest', 'ingest', {
        DATABASE_URL: running.url,
        VENUE_ADDRESS: venue.address,
        TEMPORAL_ADDRESS: runningTemporal.address,
      }),
      fleet.add('worker', 'worker-1', { ...common, DATABASE_URL: running.url, WORKFLOW_BUNDLE_PATH: options.workflowBundlePath }),
      fleet.add('worker', 'worker-2', { ...common, DATABASE_URL: running.url, WORKFLOW_BUNDLE_PATH: options.workflowBundlePath }),
      fleet.add('api', 'api-1', { ...common, DATABASE_URL: proxy ? proxy.urlFor(running.url) : running.url }),
      fleet.add('api', 'api-2', { ...common, DATABASE_URL: proxy ? proxy.urlFor(running.url) : running.url }),
    ]);
    return { databaseUrl: running.url, venue, postgres, temporal, proxy, fleet, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Alive and not a zombie (a killed server's children are re-parented and may stay zombies). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function treeHandle(name: string, pidOf: () => number, restart: () => Promise<void>, log: Log): ServerHandle {
  const frozen = new Set<number>();
  return {
    pid: pidOf,
    freeze() {
      const root = pidOf();
      // The parent first: once it is stopped it forks no new child, so the second look finds
      // every process there will be.
      signalAll([root], 'SIGSTOP');
      for (let pass = 0; pass < 2; pass += 1) {
        const tree = processTree(root);
        signalAll(tree, 'SIGSTOP');
        for (const pid of tree) frozen.add(pid);
      }
      log(`${name}: froze ${frozen.size} processes (SIGSTOP of pid ${root} and its children)`);
      return [...frozen];
    },
    resume() {
      if (frozen.size === 0) return;
      const pids = [...frozen];
      frozen.clear();
      signalAll(pids, 'SIGCONT');
      log(`${name}: resumed ${pids.length} processes (SIGCONT)`);
    },
    async kill() {
      const root = pidOf();
      const tree = processTree(root);
      // Collected before the kill: afterwards the children belong to init.
      signalAll(tree, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      while (tree.some(isRunning)) {
        if (Date.now() > deadline) throw new Error(`${name}: processes ${tree.filter(isRunning).join(', ')} survived SIGKILL`);
        await sleep(20);
      }
      log(`${name}: killed ${tree.length} processes (SIGKILL of pid ${root} and its children)`);
      return tree;
    },
    async restart() {
      await restart();
      log(`${name}: restarted (pid ${pidOf()})`);
    },
  };
}

function postgresHandle(running: RunningPostgres, dataDir: string, log: Log): ServerHandle {
  // postmaster.pid's first line is the postmaster's pid; the file stays after a SIGKILL, and a
  // restart (crash recovery) writes the new one.
  const pidOf = () => Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return treeHandle('PostgreSQL', pidOf, () => running.start(), log);
}

function temporalHandle(running: RunningTemporal, port: number, log: Log): ServerHandle {
  const pidOf = () => {
    const pid = findProcess(['start-dev', '--port', String(port)]);
    if (pid === null) throw new Error(`no Temporal dev server process on port ${port}`);
    return pid;
  };
  return treeHandle('Temporal', pidOf, () => running.start(), log);
}

type ServiceKind = 'api' | 'worker' | 'venue' | 'ingest';

interface Slot {
  kind: ServiceKind;
  name: string;
  env: Record<string, string>;
  service: Service | undefined;
  /** Exits the harness caused (a kill fault); any other exit is reported as unexpected. */
  expectedExits: number;
}

/**
 * The venue, ingestion, API and worker processes, each restarted whenever it exits, as a
 * supervisor (systemd, Kubernetes) would restart it. Only live APIs receive requests, as behind
 * a balancer.
 */
export class Fleet {
  private readonly slots: Slot[] = [];
  private stopping = false;
  /** Exits nobody asked for, e.g. "worker-1 exited (code 1)". */
  readonly unexpectedExits: string[] = [];

  constructor(private readonly log: Log) {}

  async add(kind: ServiceKind, name: string, env: Record<string, string>): Promise<void> {
    const slot: Slot = { kind, name, env, service: undefined, expectedExits: 0 };
    this.slots.push(slot);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.launch(slot);
        return;
      } catch (error) {
        if (attempt === 3) throw error;
        this.log(`${name}: start attempt ${attempt} failed: ${String(error).slice(0, 300)}`);
      }
    }
  }

  /** Base URLs of the APIs that run now. */
  apiUrls(): string[] {
    return this.slots.filter((slot) => slot.kind === 'api' && slot.service).map((slot) => slot.service!.url);
  }

  /** SIGKILLs one process; the supervisor starts it again. Resolves once it has exited. */
  async kill(name: string): Promise<void> {
    const slot = this.slots.find((candidate) => candidate.name === name);
    if (!slot?.service) throw new Error(`${name} is not running`);
    slot.expectedExits += 1;
    const service = slot.service;
    slot.service = undefined; // out of the balancer at once
    await service.kill('SIGKILL');
    this.log(`${name}: killed (SIGKILL)`);
  }

  /** Resolves once every process runs (after restarts). */
  async allRunning(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.slots.some((slot) => !slot.service)) {
      if (Date.now() > deadline)
        throw new Error(`not running after ${timeoutMs} ms: ${this.slots.filter((s) => !s.service).map((s) => s.name)}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((slot) => slot.service?.kill('SIGKILL')));
  }

  private async launch(slot: Slot): Promise<void> {
    const service = await startService(slot.kind, slot.env);
    if (this.stopping) {
      await service.kill('SIGKILL');
      return;
    }
    slot.service = service;
    void service.exited().then(() => this.onExit(slot, service));
  }

  private async onExit(slot: Slot, service: Service): Promise<void> {
    if (slot.service === service) slot.service = undefined;
    if (this.stopping) return;
    if (slot.expectedExits > 0) {
      slot.expectedExits -= 1;
    } else {
      const how = service.child.signalCode ?? `code ${service.child.exitCode}`;
      this.unexpectedExits.push(`${slot.name} exited (${how})`);
      this.log(`${slot.name}: exited by itself (${how}); its last output:\n${service.output().split('\n').slice(-15).join('\n')}`);
    }
    // Started again until it runs: a worker cannot start while Temporal is down.
    for (let attempt = 1; !this.stopping; attempt += 1) {
      try {
        await this.launch(slot);
        this.log(`${slot.name}: started again`);
        return;
      } catch (error) {
        this.log(`${slot.name}: restart attempt ${attempt} failed: ${String(error).slice(0, 300)}`);
        await sleep(Math.min(1000 * attempt, 5000));
      }
    }
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIFELINE = pathToFileURL(path.join(ROOT, 'scripts', 'infra', 'lifeline.mjs')).href;
/** Each kind's entry point, and the log line that says it is ready (an API: its /health/live). */
const ENTRIES: Record<ServiceKind, { entry: string; ready?: RegExp }> = {
  api: { entry: 'api/main.ts' },
  worker: { entry: 'worker/main.ts', ready: /worker started/ },
  venue: { entry: 'exchange/main.ts', ready: /"msg":"venue started"/ },
  ingest: { entry: 'ingest/main.ts', ready: /"msg":"ingest started"/ },
};
/** On a machine kept busy by other work, a tsx-compiled process can take a minute to get ready. */
const READY_TIMEOUT_MS = 180_000;
/** The tail of a service's output kept for failure messages (a worker logs at info for hours). */
const OUTPUT_KEPT = 64 * 1024;

interface Service {
  child: ChildProcess;
  /** The API's base URL (APIs only). */
  url: string;
  output(): string;
  exited(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * A production entry point as a real process, as test/support/processes.ts starts one, but with
 * a readiness wait long enough for a busy machine, its output bounded, and the process killed
 * when it does not get ready (a restart loop must not leave half-started processes behind).
 */
async function startService(kind: ServiceKind, env: Record<string, string>): Promise<Service> {
  const port = kind === 'api' ? String(await getPort()) : '0';
  const { entry, ready: readyLine } = ENTRIES[kind];
  // The venue and ingest run between the faults' targets for the whole stack: with a lifeline
  // (stdin a pipe from this process) they stop by themselves should the harness die.
  const lifeline = kind === 'venue' || kind === 'ingest';
  const child = spawn(process.execPath, [...(lifeline ? ['--import', LIFELINE] : []), '--import', 'tsx', entry], {
    cwd: ROOT,
    // The worker, the venue and ingest say they started at info level; that line is how readiness is seen.
    env: {
      ...process.env,
      LOG_LEVEL: readyLine ? 'info' : 'warn',
      AUTH_REQUIRED: 'false',
      RATE_LIMIT_PER_MINUTE: '100000000',
      ...env,
      PORT: port,
      HOST: '127.0.0.1',
      MANAGEMENT_PORT: '0',
    },
    stdio: [lifeline ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let ready = false;
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (!ready && readyLine?.test(output)) ready = true;
    if (output.length > 2 * OUTPUT_KEPT) output = output.slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = once(child, 'exit').then(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  const service: Service = {
    child,
    url,
    output: () => output,
    exited: () => exit,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exit;
    },
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${kind} exited before it was ready (${child.signalCode ?? child.exitCode}): ${output.slice(-2000)}`);
    }
    if (
      readyLine
        ? ready
        : await fetch(`${url}/health/live`).then(
            (response) => response.ok,
            () => false,
          )
    )
      return service;
    if (Date.now() > deadline) {
      await service.kill('SIGKILL');
      throw new Error(`${kind} not ready within ${READY_TIMEOUT_MS / 1000} s: ${output.slice(-2000)}`);
    }
    await sleep(100);
  }
}
