import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import pg from 'pg';
import { createOrderActivities } from '../activities/order-activities.js';
import { createSweepActivities } from '../activities/sweep-activities.js';
import type { Config } from '../config/config.js';
import type { Exchange } from '../exchange/exchange.js';
import { createVenueClient } from '../exchange/venue-client.js';
import { createPrismaClient, type PrismaClient } from '../prisma/client.js';
import { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import { OrdersRepository } from '../prisma/orders-repository.js';
import { PlacementStore } from '../prisma/placement-store.js';
import { createOrderWorkflowProbe } from '../temporal/pending-orders.js';
import { registerSearchAttributes } from '../temporal/search-attribute-registration.js';
import { WORKFLOWS_PATH } from '../workflows/path.js';
import { activityInterceptors } from './activity-interceptors.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { ensureSweeper } from './sweeper.js';

export interface OrderWorker {
  worker: Worker;
  /** This worker's own series (placements, exchange calls, placement lag). */
  metrics: WorkerMetrics;
  /** Runs until shutdown() (or a fatal error); then closes the worker's own connections. */
  run(): Promise<void>;
  shutdown(): void;
}

export interface OrderWorkerOverrides {
  exchange?: Exchange;
  workerOptions?: Partial<WorkerOptions>;
}

export async function createOrderWorker(config: Config, overrides: OrderWorkerOverrides = {}): Promise<OrderWorker> {
  const db: PrismaClient = createPrismaClient({
    url: config.DATABASE_URL,
    poolSize: config.DB_POOL_SIZE,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
  });
  // The venue is its own process (exchange/main.ts); the worker reaches its order entry over TCP.
  const venue = overrides.exchange
    ? undefined
    : createVenueClient({
        address: config.VENUE_ADDRESS,
        requestTimeoutMs: config.VENUE_REQUEST_TIMEOUT_MS,
        failureRate: config.EXCHANGE_FAILURE_RATE,
        latencyMs: config.EXCHANGE_LATENCY_MS,
        firstAttemptFails: config.EXCHANGE_FIRST_ATTEMPT_FAILS,
        crashAfterAccepts: config.EXCHANGE_TEST_CRASH_AFTER_ACCEPTS,
      });
  const exchange: Exchange = overrides.exchange ?? venue!;
  const orders = new OrdersRepository(db);
  // The placement's status changes, one or two per order, through node-postgres and prepared
  // statements (prisma/placement-store.ts); Prisma (above) serves the sweep, once a minute.
  const placementDb = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DB_POOL_SIZE,
    connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
    query_timeout: config.DB_QUERY_TIMEOUT_MS,
    statement_timeout: config.DB_QUERY_TIMEOUT_MS,
    application_name: 'worker:placement',
  });
  // An idle connection's error (the server went away) is the pool's to discard, not a crash.
  placementDb.on('error', (error) => Runtime.instance().logger.warn('idle placement database connection failed', { error }));

  // Kept open: the sweep asks Temporal whether a stale order's workflow exists.
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  await registerSearchAttributes(clientConnection, config.TEMPORAL_NAMESPACE);
  await ensureSweeper(client, {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    intervalMs: config.SWEEP_INTERVAL_MS,
    staleAfterMs: config.STALE_ORDER_AFTER_MS,
  });

  const metrics = createWorkerMetrics();
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    // A bundle prebuilt at image build time (scripts/bundle-workflows.ts) starts faster and needs no bundler at run time.
    ...(config.WORKFLOW_BUNDLE_PATH ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH }),
    // On shutdown, running activities get this long to finish before they are cancelled.
    shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_MS,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_WORKFLOW_TASK_SLOTS,
    interceptors: { activity: [activityInterceptors(metrics)] },
    activities: {
      ...createOrderActivities({ orders: new PlacementStore(placementDb), exchange }),
      ...createSweepActivities({
        orders,
        keys: new IdempotencyRepository(db),
        probe: createOrderWorkflowProbe(client, config.TEMPORAL_RPC_TIMEOUT_MS),
      }),
    },
    ...overrides.workerOptions,
  });
  return {
    worker,
    metrics,
    async run() {
      try {
        await worker.run();
      } finally {
        await Promise.allSettled([
          connection.close(),
          clientConnection.close(),
          db.$disconnect(),
          placementDb.end(),
          Promise.resolve(venue?.close()),
        ]);
      }
    },
    shutdown: () => worker.shutdown(),
  };
}
