// The service's real processes (api/main.ts, worker/main.ts), spawned the way
// test/support/processes.ts spawns them, plus what the benchmark needs to know of each: its pid
// (memory, CPU) and the moment it became ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /** SIGTERM, SIGKILL after 15 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

const running = new Set<Service>();

/** Stops every service still running (on the way out, whatever happened). */
export async function stopAllServices(): Promise<void> {
  await Promise.allSettled([...running].map((service) => service.stop()));
}

function spawnEntry(name: string, entry: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000); // a long run must not grow this without bound
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error(`${name} could not be spawned`);
  return { child, output: () => output };
}

function serviceOf(name: string, child: ChildProcess, output: () => string, url: string, readyAt: number): Service {
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  const service: Service = {
    name,
    pid: child.pid!,
    url,
    readyAt,
    output,
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
  const { child, output } = spawnEntry(name, entry, { LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before listening:\n${output()}`);
    try {
      if ((await fetch(`${url}/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not listen within ${READY_TIMEOUT_MS / 1000} s:\n${output()}`);
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
  const { child, output } = spawnEntry(name, 'worker/main.ts', { ...env, LOG_LEVEL: 'info', PORT: '0' });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const line = output()
      .split('\n')
      .find((text) => text.includes('"worker started"'));
    if (line) {
      // pino's own timestamp of the line: when the worker got there, not when we noticed.
      const time = (JSON.parse(line) as { time?: number }).time;
      return serviceOf(name, child, output, '', typeof time === 'number' ? time : Date.now());
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before it started:\n${output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s:\n${output()}`);
    }
    await sleep(50);
  }
}
