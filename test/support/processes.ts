import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import { inject } from 'vitest';
import { BUSY_MACHINE_SETTINGS, OPEN_ACCESS_SETTINGS } from './config.js';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** The API's base URL (API processes only). */
  url: string;
  /** The API's management port (GET /metrics; API processes only). */
  managementUrl: string;
  /** Output so far, for failure messages. */
  output(): string;
  /** Sends the signal and waits until the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  exited(): Promise<void>;
}

/**
 * Runs a production entry point (`api/main.ts`, `worker/main.ts`) as a real process with the
 * given environment: what tests of crashes and restarts need.
 */
export async function startService(kind: 'api' | 'worker', env: Record<string, string>): Promise<ServiceProcess> {
  const port = kind === 'api' ? String(await getPort()) : '0';
  const managementPort = kind === 'api' ? String(await getPort()) : '0';
  const child = spawn(process.execPath, ['--import', 'tsx', `${kind}/main.ts`], {
    cwd: ROOT,
    // The worker says 'worker started' at info level; that line is how readiness is seen.
    env: {
      ...process.env,
      LOG_LEVEL: kind === 'worker' ? 'info' : 'warn',
      ...BUSY_MACHINE_SETTINGS,
      ...OPEN_ACCESS_SETTINGS,
      VENUE_ADDRESS: inject('venueAddress'),
      ...env,
      PORT: port,
      HOST: '127.0.0.1',
      MANAGEMENT_PORT: managementPort,
      MANAGEMENT_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, 'exit').then(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    child,
    url,
    managementUrl: `http://127.0.0.1:${managementPort}`,
    output: () => output,
    exited: () => exit,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exit;
    },
  };
  if (kind === 'api') {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`api exited: ${output}`);
        return (await fetch(`${url}/health/live`)).ok ? true : undefined;
      },
      180_000,
      'the API process to listen',
    );
  } else {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited: ${output}`);
        return /worker started/.test(output) ? true : undefined;
      },
      180_000,
      'the worker process to start',
    );
  }
  return service;
}
