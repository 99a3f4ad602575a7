// The service's real processes (api/main.ts, worker/main.ts), spawned the way
// test/support/processes.ts spawns them, plus what the benchmark needs to know of each: its pid
// (memory, CPU) and the moment it became ready.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const READY_TIMEOUT_MS = 90_000;

export interface Service {
  name: string;
  pid: number;
  /** The API's base URL (API processes only). */
  url: string;
  /** Epoch ms at which it was ready: listening (API), or polling its task queue (worker). */
  readyAt: number;
  output(): string;
  /** Error lines of its log (level error and above) so far, by message (ids blanked out). */
  errorCounts(): Record<string, number>;
  /** SIGTERM, SIGKILL after 15 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

const running = new Set<Service>();

/** Stops every service still running (on the way out, whatever happened), and drops their logs. */
export async function stopAllServices(): Promise<void> {
  await Promise.allSettled([...running].map((service) => service.stop()));
  if (logDir) rmSync(logDir, { recursive: true, force: true });
  logDir = undefined;
}

let logDir: string | undefined;

/**
 * Spawns the entry point with its output (the service's JSON log) going to a file, as a deployed
 * service's does: the benchmark never slows a service down by reading its log late.
 */
function spawnEntry(name: string, entry: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  logDir ??= mkdtempSync(path.join(os.tmpdir(), 'order-service-bench-logs-'));
  const logFile = path.join(logDir, `${name}-${Date.now()}.log`);
  const fd = openSync(logFile, 'a');
  // BENCH_CPU_PROFILE_DIR: each service writes a V8 CPU profile there when it stops (open it in
  // Chrome DevTools or speedscope) to see where a process's time goes.
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name} could not be spawned`);
  return { child, output: () => readFileSync(logFile, 'utf8') };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function errorCounts(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.startsWith('{') || (!line.includes('"level":"error"') && !line.includes('"level":"fatal"'))) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; err?: { type?: string; message?: string } };
      const what = [entry.msg, entry.err ? `${entry.err.type ?? 'Error'}: ${entry.err.message ?? ''}` : undefined]
        .filter(Boolean)
        .join(': ');
      const key = what.replace(UUID, '<id>').slice(0, 300);
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // not a JSON line
    }
  }
  return counts;
}

/** The last lines of a service's log, for error messages. */
function tail(text: string): string {
  return text.split('\n').slice(-30).join('\n');
}

function serviceOf(name: string, child: ChildProcess, output: () => string, url: string, readyAt: number): Service {
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  const service: Service = {
    name,
    pid: child.pid!,
    url,
    readyAt,
    output,
    errorCounts: () => errorCounts(output()),
    async stop() {
      running.delete(service);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  running.add(service);
  return service;
}

/** An entry point that serves HTTP on PORT (the API, or the benchmark's HTTP-only server). */
export async function startHttpService(name: string, entry: string, env: Record<string, string>): Promise<Service> {
  const port = await getPort();
  // The service's own log level (info unless env says otherwise): what it costs deployed.
  const { child, output } = spawnEntry(name, entry, { ...env, PORT: String(port), HOST: '127.0.0.1', MANAGEMENT_PORT: '0' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before listening:\n${tail(output())}`);
    try {
      if ((await fetch(`${url}/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not listen within ${READY_TIMEOUT_MS / 1000} s:\n${tail(output())}`);
    }
    await sleep(100);
  }
  return serviceOf(name, child, output, url, Date.now());
}

export function startApi(name: string, env: Record<string, string>): Promise<Service> {
  return startHttpService(name, 'api/main.ts', env);
}

/** A worker process; ready when it logs 'worker started' (right before it starts polling). */
export async function startWorker(name: string, env: Record<string, string>): Promise<Service> {
  // 'worker started' is logged at info: the level must let it through.
  const { child, output } = spawnEntry(name, 'worker/main.ts', { ...env, LOG_LEVEL: 'info', PORT: '0' });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const line = output()
      .split('\n')
      .find((text) => text.includes('"worker started"'));
    if (line) {
      // pino's own timestamp of the line (ISO 8601, config/logger.ts): when the worker got there, not when we noticed.
      const time = Date.parse(String((JSON.parse(line) as { time?: string }).time));
      return serviceOf(name, child, output, '', Number.isNaN(time) ? Date.now() : time);
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before it started:\n${tail(output())}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s:\n${tail(output())}`);
    }
    await sleep(50);
  }
}
