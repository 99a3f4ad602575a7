// `npm start`: the whole system in one terminal. Embedded PostgreSQL (data in DATA_DIR/postgres),
// migrations, the Temporal dev server (SQLite in DATA_DIR/temporal.db, Web UI), the simulated venue
// (report log in DATA_DIR/venue), one worker and one API process. DATABASE_URL / TEMPORAL_ADDRESS use servers someone else runs instead.
//
// Every process it starts runs in a process group of its own, so the SIGINT a terminal sends to
// its foreground group on Ctrl-C reaches only this launcher, which then stops them one at a time:
// the API, the worker, the venue, Temporal, PostgreSQL, each after the one before has exited and its last
// lines are out. Each also holds a lifeline to this process (scripts/infra/lifeline.mjs) and
// stops by itself if the launcher dies, even by SIGKILL: nothing outlives it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { prettyFactory } from 'pino-pretty';
import { z } from 'zod';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { parseEnv, presentEnv } from '../config/env.js';
import { applyMigrations } from '../prisma/migrate.js';
import { DEMO_KEY_FILE, ensureDemoKey } from './infra/demo-key.js';
import { startEmbeddedPostgresProcess } from './infra/embedded-postgres-process.js';
import { LOCAL_DATA_DIR, LOCAL_POSTGRES_PORT } from './infra/local-postgres.js';
import { startTemporalDevServer } from './infra/temporal-dev-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIFELINE = pathToFileURL(path.join(ROOT, 'scripts', 'infra', 'lifeline.mjs')).href;
const READY_TIMEOUT_MS = 180_000;
// Above the API's SHUTDOWN_TIMEOUT_MS and the worker's WORKER_SHUTDOWN_GRACE_MS defaults.
const STOP_TIMEOUT_MS = 30_000;

const port = z.coerce.number().int().min(1).max(65535);
/** The launcher's own settings; the services' settings are config/config.ts's. */
const launcherEnv = z.object({
  POSTGRES_PORT: port.default(LOCAL_POSTGRES_PORT),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  VENUE_PORT: port.default(7300),
  VENUE_CONTROL_PORT: port.default(7301),
  DATA_DIR: z.string().default(LOCAL_DATA_DIR),
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
});

function say(message: string): void {
  process.stdout.write(`[start] ${message}\n`);
}

interface Started {
  name: string;
  pid: number | undefined;
  /** Resolves once the process has exited and its output is out; says how it ended. */
  stop(): Promise<string>;
}

const started: Started[] = [];
let stopping: Promise<never> | undefined;

/** Stops everything started so far, newest first, one at a time, then exits. Later calls join the first. */
function stopAll(reason: string, code: number): Promise<never> {
  stopping ??= (async () => {
    const names = started.map((s) => s.name).reverse();
    say(`stopping (${reason})${names.length ? `: ${names.join(', ')}, in that order` : ''}`);
    for (const service of [...started].reverse()) {
      say(`stopping ${service.name}${service.pid ? ` (pid ${service.pid})` : ''}`);
      try {
        say(`${service.name} stopped${await service.stop()}`);
      } catch (error) {
        say(`${service.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}

const pretty = prettyFactory({ colorize: process.stdout.isTTY, ignore: 'pid,hostname' });

/** Runs a service entry point as its own process (own group, lifeline), pretty-printing its JSON log. */
function startService(name: string, entry: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, ['--import', LIFELINE, '--import', 'tsx', entry], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => process.stdout.write(pretty(line)));
  // 'close' comes after the exit and the end of its output: its last lines are printed by then.
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  child.on('exit', (code, signal) => {
    if (stopping === undefined) void stopAll(`${name} exited unexpectedly (${signal ?? `exit code ${code}`})`, 1);
  });
  const service: Started = {
    name,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => killGroup(child), STOP_TIMEOUT_MS);
        await closed;
        clearTimeout(timer);
      } else {
        await closed;
      }
      return child.signalCode ? ` (${child.signalCode})` : ` (exit code ${child.exitCode})`;
    },
  };
  record(service);
  return service;
}

function record(service: Started): void {
  started.push(service);
  say(`started ${service.name} (pid ${service.pid})`);
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/**
 * The Temporal dev server's output, line by line. While it shuts down, its own system workers
 * log a dozen WARN lines about polls its closing frontend refused: those are counted, not shown.
 */
function temporalOutput() {
  let buffered = '';
  let shuttingDown = false;
  let hidden = 0;
  return {
    onLog(chunk: string) {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (shuttingDown && /\blevel=WARN\b/.test(line)) hidden += 1;
        else process.stderr.write(`${line}\n`);
      }
    },
    shutDown() {
      shuttingDown = true;
    },
    hidden: () => hidden,
  };
}

async function apiReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

/** True once the worker process with this pid polls both of the task queue's kinds (the SDK's identity is `<pid>@<host>`). */
async function workerPolls(connection: Connection, config: Config, pid: number): Promise<boolean> {
  const { TaskQueueType } = proto.temporal.api.enums.v1;
  for (const taskQueueType of [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: { name: config.TEMPORAL_TASK_QUEUE },
      taskQueueType,
    });
    if (!pollers.some((poller) => poller.identity?.startsWith(`${pid}@`))) return false;
  }
  return true;
}

/** True once something accepts TCP connections at host:port. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntil(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await condition())) {
    if (stopping) await stopping;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const env = parseEnv(launcherEnv, presentEnv(process.env), 'configuration', (message) => new ConfigError(message));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stopAll(signal, 0));
  const dataDir = path.resolve(ROOT, env.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  let databaseUrl = env.DATABASE_URL;
  let postgresLine = 'the PostgreSQL at DATABASE_URL';
  if (databaseUrl) {
    say('using the PostgreSQL at DATABASE_URL');
  } else {
    say(`starting embedded PostgreSQL on port ${env.POSTGRES_PORT} (data in ${path.join(dataDir, 'postgres')})`);
    // In a process of its own: embedded-postgres installs exit hooks in the process that loads it.
    const postgres = await startEmbeddedPostgresProcess({ dataDir: path.join(dataDir, 'postgres'), port: env.POSTGRES_PORT });
    record({
      name: 'PostgreSQL',
      pid: postgres.pid,
      stop: async () => {
        await postgres.stop();
        return '';
      },
    });
    databaseUrl = postgres.url;
    postgresLine = postgres.url;
  }
  // The services' own configuration, checked here once so a bad value stops the start at once.
  const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS });
  const applied = await applyMigrations(databaseUrl);
  say(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
  const demoKeyFile = path.join(dataDir, DEMO_KEY_FILE);
  const demoKey = await ensureDemoKey(databaseUrl, demoKeyFile);
  // The local demo answers the task's plain `curl -X POST /orders`; production entry points require keys.
  const authRequired = process.env.AUTH_REQUIRED || 'false';

  let temporalAddress = env.TEMPORAL_ADDRESS;
  let uiUrl = 'the Web UI of the Temporal server at TEMPORAL_ADDRESS';
  if (temporalAddress) {
    say(`using the Temporal server at ${temporalAddress}`);
  } else {
    say(`starting the Temporal dev server on port ${env.TEMPORAL_PORT} (data in ${path.join(dataDir, 'temporal.db')})`);
    const output = temporalOutput();
    const temporal = await startTemporalDevServer({
      port: env.TEMPORAL_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
      dbFile: path.join(dataDir, 'temporal.db'),
      namespace: config.TEMPORAL_NAMESPACE,
      ownProcessGroup: true,
      onLog: output.onLog,
    });
    record({
      name: 'Temporal',
      pid: temporal.pid,
      stop: async () => {
        output.shutDown();
        await temporal.stop();
        return output.hidden() ? ` (${output.hidden()} WARN lines of its shutdown not shown)` : '';
      },
    });
    temporalAddress = temporal.address;
    uiUrl = temporal.uiUrl ?? uiUrl;
  }

  // The simulated venue (exchange/main.ts), its report log in DATA_DIR/venue unless VENUE_DATA_DIR says otherwise.
  const venueEnv = { VENUE_DATA_DIR: path.join(dataDir, 'venue'), ...process.env, DATABASE_URL: databaseUrl };
  startService('venue', 'exchange/main.ts', venueEnv);
  const venueAddress = process.env.VENUE_ADDRESS || `localhost:${env.VENUE_PORT}`;
  await waitUntil('the venue listening', () => listening('127.0.0.1', env.VENUE_PORT));
  const serviceEnv = {
    ...process.env,
    AUTH_REQUIRED: authRequired,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    VENUE_ADDRESS: venueAddress,
  };
  // The ingestion process (ingest/main.ts): holds the venue's execution session, persists the fills.
  startService('ingest', 'ingest/main.ts', serviceEnv);
  const worker = startService('worker', 'worker/main.ts', serviceEnv);
  startService('API', 'api/main.ts', serviceEnv);
  const apiUrl = `http://localhost:${config.PORT}`;
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    await waitUntil('the worker polling its task queue', () => workerPolls(connection, config, worker.pid ?? -1).catch(() => false));
    await waitUntil('the API answering 200 at /health/ready', () => apiReady(`http://127.0.0.1:${config.PORT}`));
  } finally {
    await connection.close();
  }

  say('ready');
  say(`  API:             ${apiUrl}  (POST|GET|DELETE /orders, GET|PATCH|DELETE /orders/:id)`);
  say(`  API docs:        ${apiUrl}/docs  (OpenAPI: ${apiUrl}/openapi.json)`);
  say(
    authRequired === 'false'
      ? '  API keys:        AUTH_REQUIRED=false (local demo): requests without a key act as the demo account'
      : '  API keys:        required (AUTH_REQUIRED=true)',
  );
  say(`  Rate limit:      ${rateLimitLine(config, authRequired === 'false')}`);
  say(
    `  Demo API key:    ${demoKey.apiKey}  (${demoKey.created ? 'new, ' : ''}kept in ${demoKeyFile}; send it as Authorization: Bearer <key>)`,
  );
  say(`  Metrics:         http://localhost:${config.MANAGEMENT_PORT}/metrics  (management port, loopback only)`);
  say(`  Temporal Web UI: ${uiUrl}`);
  say(`  Temporal (gRPC): ${temporalAddress}`);
  say(`  PostgreSQL:      ${postgresLine}`);
  say(`  Venue:           ${venueAddress} (order entry, executions)  control: http://localhost:${env.VENUE_CONTROL_PORT}/control/stats`);
  say(
    `  Ctrl-C stops ${[...started]
      .reverse()
      .map((s) => s.name)
      .join(', ')}, in that order`,
  );
}

/** What the summary says about the rate limit: whether the demo's requests without a key are limited, and how to change it. */
function rateLimitLine(config: Config, keyless: boolean): string {
  const burst = config.RATE_LIMIT_BURST > 0 ? ` (+${config.RATE_LIMIT_BURST} per 10 minutes)` : '';
  const limit = `${config.RATE_LIMIT_PER_MINUTE} requests a minute per account${burst}`;
  if (!keyless) return limit;
  return config.RATE_LIMIT_KEYLESS
    ? `${limit}, requests without a key too (RATE_LIMIT_KEYLESS=true)`
    : `off for requests without a key (RATE_LIMIT_KEYLESS=true turns it on); with a key ${limit}`;
}

main().catch(async (error: unknown) => {
  say(`failed to start: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll('failed to start', 1);
});
