// `npm start`: the whole system in one terminal. Embedded PostgreSQL (data in .data/postgres),
// migrations, the Temporal dev server (SQLite in .data/temporal.db, Web UI), one worker and one
// API process. DATABASE_URL / TEMPORAL_ADDRESS use servers someone else runs instead.
// Ctrl-C or SIGTERM stops everything, in reverse order, and leaves no process behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { build as prettyStream } from 'pino-pretty';
import { z } from 'zod';
import { applyMigrations } from '../prisma/migrate.js';
import { startEmbeddedPostgres } from './infra/embedded-postgres.js';
import { startTemporalDevServer } from './infra/temporal-dev-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA_DIR = path.join(ROOT, '.data');

const launcherEnv = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54320),
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
});

function say(message: string): void {
  process.stdout.write(`[start] ${message}\n`);
}

const stops: (() => Promise<void>)[] = [];
let stopping: Promise<never> | undefined;

/** Stops everything started so far, newest first, then exits. Later calls join the first. */
function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    say('stopping…');
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) => say(`while stopping: ${String(error)}`));
    }
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}

/** Runs a service entry point as its own process, with pretty logs, stopped by SIGTERM. */
function startService(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.pipe(prettyStream({ colorize: process.stdout.isTTY, ignore: 'pid,hostname', destination: 1 }));
  child.on('exit', (code, signal) => {
    if (stopping === undefined) {
      say(`${name} exited unexpectedly (${signal ?? code}); stopping everything`);
      void stopAll(1);
    }
  });
  stops.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });
  return child;
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

async function main(): Promise<void> {
  const parsed = launcherEnv.safeParse(process.env);
  if (!parsed.success) {
    throw new Error(`Invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const env = parsed.data;
  // embedded-postgres installs exit hooks that stop the database and exit at the first signal,
  // before the API and worker have stopped; this launcher stops everything itself, in order.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void stopAll(0));
  }
  mkdirSync(DATA_DIR, { recursive: true });

  let databaseUrl = env.DATABASE_URL;
  if (databaseUrl) {
    say('using the PostgreSQL at DATABASE_URL');
  } else {
    say(`starting embedded PostgreSQL on port ${env.POSTGRES_PORT} (data in .data/postgres)`);
    const postgres = await startEmbeddedPostgres({ dataDir: path.join(DATA_DIR, 'postgres'), port: env.POSTGRES_PORT });
    stops.push(() => postgres.stop());
    databaseUrl = postgres.url;
  }
  const applied = await applyMigrations(databaseUrl);
  say(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');

  let temporalAddress = env.TEMPORAL_ADDRESS;
  let uiUrl: string | null = null;
  if (temporalAddress) {
    say(`using the Temporal server at ${temporalAddress}`);
  } else {
    say(`starting the Temporal dev server on port ${env.TEMPORAL_PORT} (data in .data/temporal.db)`);
    const temporal = await startTemporalDevServer({
      port: env.TEMPORAL_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
      dbFile: path.join(DATA_DIR, 'temporal.db'),
      onLog: (line) => process.stderr.write(line),
    });
    stops.push(() => temporal.stop());
    temporalAddress = temporal.address;
    uiUrl = temporal.uiUrl;
  }

  const serviceEnv = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, PORT: String(env.PORT) };
  startService('worker', 'worker/main.ts', serviceEnv);
  startService('api', 'api/main.ts', serviceEnv);
  const apiUrl = `http://localhost:${env.PORT}`;
  await waitForHttp(`${apiUrl}/health/live`, 60_000);

  say('ready');
  say(`  API:             ${apiUrl}  (POST /orders, GET /orders, GET|DELETE /orders/:id)`);
  say(`  API docs:        ${apiUrl}/docs  (OpenAPI: ${apiUrl}/openapi.json)`);
  say(`  Temporal Web UI: ${uiUrl ?? 'the Web UI of the Temporal server at TEMPORAL_ADDRESS'}`);
  say('  Ctrl-C stops everything');
}

main().catch(async (error: unknown) => {
  say(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll(1);
});
