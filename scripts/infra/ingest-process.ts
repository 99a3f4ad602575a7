import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIFELINE = pathToFileURL(path.join(ROOT, 'scripts', 'infra', 'lifeline.mjs')).href;
const READY_TIMEOUT_MS = 180_000;

export interface IngestProcess {
  pid: number | undefined;
  output(): string;
  /** True once this process has logged that it holds the venue session (and not given it up since). */
  holdsSession(): boolean;
  /** SIGTERM (the batch in flight finishes) or SIGKILL, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal and returns at once (SIGSTOP, SIGCONT: a test freezes and resumes it). */
  signal(signal: NodeJS.Signals): void;
  exited(): boolean;
}

/**
 * Runs the ingestion process (ingest/main.ts) as a child with the given settings and waits for
 * its 'ingest started' line. It holds a lifeline to this process: it stops by itself if this
 * process dies.
 */
export async function startIngestProcess(env: Record<string, string>): Promise<IngestProcess> {
  const child = spawn(process.execPath, ['--import', LIFELINE, '--import', 'tsx', 'ingest/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let holding = false;
  const exited = once(child, 'exit');
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    for (const line of text.split('\n')) {
      if (line.includes('"msg":"holding the venue session"')) holding = true;
      if (line.includes('"msg":"gave up the venue session"')) holding = false;
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ingest did not start within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
    const check = () => {
      if (/"msg":"ingest started"/.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    // Both outcomes handled: once() rejects on the child's 'error' (a failed spawn), which would
    // otherwise be an unhandled rejection of this derived promise; it fails the start instead.
    exited.then(
      () => {
        clearTimeout(timer);
        reject(new Error(`ingest exited before it was ready:\n${output}`));
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
  return {
    pid: child.pid,
    output: () => output,
    holdsSession: () => holding && child.exitCode === null && child.signalCode === null,
    exited: () => child.exitCode !== null || child.signalCode !== null,
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
