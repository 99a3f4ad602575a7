import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../workflows/search-attributes.js';
import { TOOLS } from '../tools.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEMPORAL_CLI = path.join(ROOT, TOOLS.temporalCli);

export interface TemporalDevServerOptions {
  port: number;
  /** Web UI port; null runs headless. */
  uiPort: number | null;
  /** SQLite file that keeps workflows across restarts; null keeps everything in memory. */
  dbFile: string | null;
  namespace?: string;
  onLog?: (line: string) => void;
}

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
  start(): Promise<void>;
}

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
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  // WAL with synchronous=NORMAL: a commit survives a crash of the server process (the failure the
  // test suite provokes) but may be lost to a power cut; it doubled workflow starts per second
  // here (docs/benchmarks.md). Production runs a Temporal cluster on its own database instead.
  if (options.dbFile !== null) {
    args.push('--db-filename', options.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  }

  let child: ChildProcess | undefined;
  const launch = async () => {
    const process_ = spawn(TEMPORAL_CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = process_;
    const onLog = options.onLog ?? (() => {});
    process_.stdout?.on('data', (chunk: Buffer) => onLog(chunk.toString()));
    process_.stderr?.on('data', (chunk: Buffer) => onLog(chunk.toString()));
    await waitUntilServing(address, namespace, process_);
  };
  await launch();

  return {
    address,
    uiUrl: options.uiPort === null ? null : `http://localhost:${options.uiPort}`,
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = once(running, 'exit');
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    start: launch,
  };
}

async function waitUntilServing(address: string, namespace: string, child: ChildProcess): Promise<void> {
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
  child.kill('SIGKILL');
  throw new Error(`Temporal dev server at ${address} not ready within 60 s`);
}
