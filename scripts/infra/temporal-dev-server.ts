import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../temporal/search-attributes.js';
import { TOOLS } from '../tools.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEMPORAL_CLI = path.join(ROOT, TOOLS.temporalCli);
const LIFELINE = pathToFileURL(fileURLToPath(new URL('./lifeline.mjs', import.meta.url))).href;
const GUARD = fileURLToPath(new URL('./guard.mjs', import.meta.url));

export interface TemporalDevServerOptions {
  port: number;
  /** Web UI port; null runs headless. */
  uiPort: number | null;
  /** SQLite file that keeps workflows across restarts; null keeps everything in memory. */
  dbFile: string | null;
  namespace?: string;
  onLog?: (line: string) => void;
  /**
   * Runs the server in a process group of its own (a Ctrl-C in the terminal reaches only the
   * launcher, which stops it in its turn) under a lifeline (scripts/infra/guard.mjs): it stops
   * when this process exits, however it exits.
   */
  ownProcessGroup?: boolean;
}

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  /** The server's pid (with ownProcessGroup: its guard's, the id of the group of both); undefined while stopped. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** GOGC of the dev server the project starts, unless the environment sets one. */
const DEV_SERVER_GOGC = '200';

/** The Temporal CLI's dev server (a real Temporal server with SQLite), as a child process. */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<RunningTemporal> {
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${options.port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--log-level',
    'warn',
    '--namespace',
    namespace,
  ];
  for (const { name, type } of SEARCH_ATTRIBUTE_DEFINITIONS) args.push('--search-attribute', `${name}=${type}`);
  // The exchange activity goes back to the worker with the workflow task's completion instead of
  // through the task queue (+10–40% placements/s, docs/benchmarks.md).
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  // Left on (the dev server's default): system.forceSearchAttributesCacheRefreshOnRead=false
  // gave +34% bare starts but no more placements, and an API that registers the attributes on a
  // namespace that lacks them (a fresh cluster) then started workflows without them, AccountId
  // lost, until the server's cache refreshed (docs/benchmarks.md, "What was tuned", 8).
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  // WAL with synchronous=OFF: a commit is handed to the operating system before it is
  // acknowledged, so it survives a crash or kill of the server process (the failures the tests
  // provoke); a crash of the machine itself (a power cut) may lose it or damage the file. +50%
  // workflow starts per second over synchronous=NORMAL here (docs/benchmarks.md). Production
  // runs a Temporal cluster on its own database instead.
  if (options.dbFile !== null) {
    args.push('--db-filename', options.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
  }

  // The Go collector runs at twice the heap growth of its default (GOGC=100) unless GOGC is set:
  // 6–11% less server CPU per order measured back to back (docs/benchmarks.md, "What was tuned"),
  // for a heap that may grow to about twice the live data.
  const env = { ...process.env, GOGC: process.env.GOGC ?? DEV_SERVER_GOGC };
  let child: ChildProcess | undefined;
  const launch = async () => {
    const process_ = options.ownProcessGroup
      ? spawn(process.execPath, ['--import', LIFELINE, GUARD, TEMPORAL_CLI, ...args], {
          detached: true,
          stdio: ['pipe', 'pipe', 'pipe'],
          env,
        })
      : spawn(TEMPORAL_CLI, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    child = process_;
    const onLog = options.onLog ?? (() => {});
    process_.stdout?.on('data', (chunk: Buffer) => onLog(chunk.toString()));
    process_.stderr?.on('data', (chunk: Buffer) => onLog(chunk.toString()));
    await waitUntilServing(address, namespace, process_, options.ownProcessGroup === true);
  };
  await launch();

  return {
    address,
    uiUrl: options.uiPort === null ? null : `http://localhost:${options.uiPort}`,
    get pid() {
      return child?.pid;
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      // 'close': its output has been read to the end, not only the process gone.
      const exited = once(running, 'close');
      running.kill('SIGTERM');
      const timer = setTimeout(() => killAll(running, options.ownProcessGroup === true), 10_000);
      await exited;
      clearTimeout(timer);
    },
    start: launch,
  };
}

async function waitUntilServing(address: string, namespace: string, child: ChildProcess, ownProcessGroup: boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Temporal dev server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await sleep(200);
    }
  }
  killAll(child, ownProcessGroup);
  throw new Error(`Temporal dev server at ${address} not ready within 60 s`);
}

function killAll(child: ChildProcess, ownProcessGroup: boolean): void {
  if (ownProcessGroup && child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL'); // the guard and the server
      return;
    } catch {
      // the group is gone already
    }
  }
  child.kill('SIGKILL');
}
