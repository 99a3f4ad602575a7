// The child process of startEmbeddedPostgresProcess (see there for why it exists).
import path from 'node:path';
import { startEmbeddedPostgres } from './embedded-postgres.js';

/** Starts the server, prints {"url"} on one line, stops it when stdin ends. */
async function runChild(dataDir: string, port: number): Promise<void> {
  const postgres = await startEmbeddedPostgres({ dataDir: path.resolve(dataDir), port });
  process.stdout.write(`${JSON.stringify({ url: postgres.url })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void postgres.stop().finally(() => process.exit(0));
  };
  // stdin ends when the parent asks, and when the parent dies: no server outlives its parent.
  process.stdin.on('end', stop).on('error', stop).resume();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stop);
}

const [dataDir, port] = process.argv.slice(2);
if (!dataDir || !port) {
  process.stderr.write('usage: embedded-postgres-child.ts <dataDir> <port>\n');
  process.exit(2);
}
runChild(dataDir, Number(port)).catch((error: unknown) => {
  process.stderr.write(`embedded PostgreSQL failed to start: ${String(error)}\n`);
  process.exit(1);
});
