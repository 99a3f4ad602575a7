import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import getPort from 'get-port';
import { inject } from 'vitest';
import { BUSY_MACHINE_SETTINGS, OPEN_ACCESS_SETTINGS } from './config.js';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIFELINE = pathToFileURL(path.join(ROOT, 'scripts', 'infra', 'lifeline.mjs')).href;

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
  // once() rejects on the child's 'error' (a failed spawn or kill); kill() and exited() await it
  // and throw that error, but until one of them is called it would be an unhandled rejection.
  exit.catch(() => {});
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

/** A long-running `npm run <script>` (an entry point, as an operator starts it). */
export interface NpmScriptProcess {
  readonly script: string;
  /** Its stdout and stderr so far, for conditions and failure messages. */
  output(): string;
  /** Resolves once `probe(output)` holds; fails if the process exits first or after `timeoutMs`. */
  ready(probe: (output: string) => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM to npm (which passes it on to the entry point); whatever of its group is left after `graceMs`, SIGKILL. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `npm run --silent <script>` with `env` as its whole environment, in a process group of
 * its own, with the lifeline (scripts/infra/lifeline.mjs) preloaded into each of its Node processes
 * (through NODE_OPTIONS: npm's and the entry point's), so none of them outlives this process.
 */
export function startNpmScript(script: string, env: NodeJS.ProcessEnv): NpmScriptProcess {
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: ROOT,
    env: { ...env, NODE_OPTIONS: [env.NODE_OPTIONS, `--import=${LIFELINE}`].filter(Boolean).join(' ') },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  // Rejects on the child's 'error'; stop() awaits it (and throws), until then it must not count as unhandled.
  exited.catch(() => {});
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    script,
    output: () => output,
    async ready(probe, what, timeoutMs = 240_000) {
      await waitFor(
        async () => {
          if (!running()) throw new Error(`npm run ${script} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
          return (await probe(output)) ? true : undefined;
        },
        timeoutMs,
        `npm run ${script}: ${what}`,
      ).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- its output:\n${output.slice(-5000)}`);
      });
    },
    async stop(graceMs = 30_000) {
      if (running()) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(graceMs)]);
      }
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // the group is gone
      }
      await exited;
    },
  };
}

export interface NpmScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `npm run --silent <script> -- <args>` to its end with `env` as its whole environment; its
 * process group is killed if it runs longer than `timeoutMs`.
 */
export async function runNpmScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<NpmScriptResult> {
  const child = spawn('npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}
