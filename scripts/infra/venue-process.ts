import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIFELINE = pathToFileURL(path.join(ROOT, 'scripts', 'infra', 'lifeline.mjs')).href;
const READY_TIMEOUT_MS = 180_000;

export interface VenueProcess {
  /** host:port of order entry and the execution sessions. */
  address: string;
  /** Base URL of the control port. */
  controlUrl: string;
  pid: number | undefined;
  output(): string;
  /** SIGTERM (the log is flushed) or SIGKILL, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal and returns at once (SIGSTOP, SIGCONT: a test freezes and resumes it). */
  signal(signal: NodeJS.Signals): void;
}

/**
 * Runs the venue (exchange/main.ts) as a child process with the given settings (VENUE_PORT and
 * VENUE_CONTROL_PORT must be set: its ports), and waits for its 'venue started' line. It holds
 * a lifeline to this process: it stops by itself if this process dies.
 */
export async function startVenueProcess(env: Record<string, string>): Promise<VenueProcess> {
  const child = spawn(process.execPath, ['--import', LIFELINE, '--import', 'tsx', 'exchange/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, VENUE_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit');
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the venue did not start within ${READY_TIMEOUT_MS} ms:\n${output}`)),
      READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/"msg":"venue started"/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Both outcomes handled: once() rejects on the child's 'error' (a failed spawn), which would
    // otherwise be an unhandled rejection of this derived promise; it fails the start instead.
    exited.then(
      () => {
        clearTimeout(timer);
        reject(new Error(`the venue exited before it was ready:\n${output}`));
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
  await ready;
  const host = env.VENUE_HOST ?? '127.0.0.1';
  return {
    address: `${host}:${env.VENUE_PORT}`,
    controlUrl: `http://${host}:${env.VENUE_CONTROL_PORT}`,
    pid: child.pid,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
