import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/server.js';
import type { FaultInjector } from '../../api/submit-order.js';
import type { Config } from '../../config/config.js';
import { createLogger, type Logger } from '../../config/logger.js';
import { sweeperWorkflowId } from '../../worker/sweeper.js';
import { createOrderWorker, type OrderWorker, type OrderWorkerOverrides } from '../../worker/worker.js';
import { testConfig } from './config.js';
import { type Diagnosis, diagnosis } from './diagnosis.js';

/** The parts of a running stack a test reads; each is there once the file's beforeAll has run. */
export interface Stack extends Diagnosis {
  readonly config: Config;
  /** The API server; absent with `api: false`. */
  readonly api: ApiServer;
  readonly worker: OrderWorker;
  readonly temporal: Client;
  readonly db: pg.Client;
}

export interface StackOptions {
  /** false: no API server (the file starts its own, for instance with another configuration). */
  api?: false | { faults?: FaultInjector };
  worker?: OrderWorkerOverrides;
}

/**
 * A worker on a fresh task queue (testConfig gives each file its own), an API server on it, a
 * Temporal client and a PostgreSQL connection: started in beforeAll, closed in afterAll, with the
 * sweeper workflow the worker started terminated (so no sweep of this file runs after it).
 */
export function useStack(overrides: Record<string, string> = {}, options: StackOptions = {}): Stack {
  const config = testConfig(overrides);
  let api: ApiServer | undefined;
  let worker: OrderWorker | undefined;
  let workerRun: Promise<void> | undefined;
  let temporal: Client | undefined;
  let db: pg.Client | undefined;
  let dbError: Error | undefined;
  const started = <T>(part: T | undefined, name: string): T => {
    if (part === undefined) throw new Error(`the stack's ${name} is not running (read it inside a test or hook)`);
    return part;
  };

  beforeAll(async () => {
    worker = await createOrderWorker(config, options.worker);
    workerRun = worker.run();
    // Awaited only in afterAll, which throws its error: a worker that fails mid-file would
    // otherwise be an unhandled rejection of no test, reported when it happens.
    workerRun.catch(() => {});
    if (options.api !== false) api = await startApiServer(config, createLogger('api', 'silent'), options.api?.faults);
    temporal = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }) });
    db = new pg.Client({ connectionString: config.DATABASE_URL });
    // An idle client whose connection the server ends emits 'error'; with no listener that is an
    // uncaught exception of no test. Kept and thrown by afterAll (the next query fails as well).
    db.on('error', (error) => {
      dbError ??= error;
    });
    await db.connect();
  });

  afterAll(async () => {
    await api?.close();
    worker?.shutdown();
    await workerRun;
    await temporal?.workflow
      .getHandle(sweeperWorkflowId(config.TEMPORAL_TASK_QUEUE))
      .terminate('test over')
      .catch(() => {});
    await temporal?.connection.close();
    await db?.end();
    if (dbError) throw new Error(`the stack's database connection failed: ${dbError.message}`, { cause: dbError });
  });

  const diagnose = diagnosis({
    db: () => started(db, 'database'),
    temporal: () => started(temporal, 'Temporal client'),
    databaseUrl: config.DATABASE_URL,
  });
  return {
    config,
    get api() {
      return started(api, 'API');
    },
    get worker() {
      return started(worker, 'worker');
    },
    get temporal() {
      return started(temporal, 'Temporal client');
    },
    get db() {
      return started(db, 'database');
    },
    ...diagnose,
  };
}

/**
 * Starts API servers (no worker: a workflow start needs only the Temporal server) with
 * `base` and each call's overrides; each is closed by `register`'s clean-up (the caller's
 * afterEach or afterAll list, so that it closes in order with the caller's other clean-ups).
 */
export function apiStarter(register: (close: () => Promise<void>) => void, base: Record<string, string> = {}) {
  return async (overrides: Record<string, string> = {}, logger: Logger = createLogger('api', 'silent')): Promise<ApiServer> => {
    const api = await startApiServer(testConfig({ ...base, ...overrides }), logger);
    register(() => api.close());
    return api;
  };
}
