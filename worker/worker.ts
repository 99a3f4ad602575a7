import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createSimulatedExchange, type Exchange } from '../activities/exchange.js';
import { createOrderActivities } from '../activities/order-activities.js';
import type { Config } from '../config/config.js';
import { createPrismaClient, type PrismaClient } from '../prisma/client.js';
import { OrdersRepository } from '../prisma/orders-repository.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface OrderWorker {
  worker: Worker;
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
  const exchange =
    overrides.exchange ?? createSimulatedExchange({ failureRate: config.EXCHANGE_FAILURE_RATE, latencyMs: config.EXCHANGE_LATENCY_MS });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities: createOrderActivities({ orders: new OrdersRepository(db), exchange }),
    ...overrides.workerOptions,
  });
  return {
    worker,
    async run() {
      try {
        await worker.run();
      } finally {
        await Promise.allSettled([connection.close(), db.$disconnect()]);
      }
    },
    shutdown: () => worker.shutdown(),
  };
}
