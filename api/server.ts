import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { createPrismaClient } from '../prisma/client.js';
import { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import { OrdersRepository } from '../prisma/orders-repository.js';
import { OrdersQuery } from '../prisma/orders-query.js';
import { createOrderCancellation, createPlacementStarter } from '../workflows/client.js';
import { createApp } from './app.js';
import type { FaultInjector } from './submit-order.js';

// Longer than any request can take (see README, bounded time), so only a dead request's key is stale.
const IDEMPOTENCY_STALE_LOCK_MS = 30_000;

export interface ApiServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Builds the API with its real dependencies and listens. Neither the database nor Temporal has
 * to be up at start: both are connected lazily and reconnected by their clients, so the API
 * answers 500 while one is away and recovers by itself when it returns.
 */
export async function startApiServer(config: Config, logger: Logger, faults?: FaultInjector): Promise<ApiServer> {
  const db = createPrismaClient({
    url: config.DATABASE_URL,
    poolSize: config.DB_POOL_SIZE,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
  });
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS, connectTimeout: config.TEMPORAL_START_TIMEOUT_MS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const app = createApp({
    orders: new OrdersRepository(db),
    ordersQuery: new OrdersQuery(db),
    cancellation: createOrderCancellation(client, config.TEMPORAL_CANCEL_TIMEOUT_MS),
    placement: createPlacementStarter(client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_START_TIMEOUT_MS),
    idempotency: {
      keys: new IdempotencyRepository(db),
      ttlMs: config.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
      staleLockMs: IDEMPOTENCY_STALE_LOCK_MS,
    },
    logger,
    faults,
  });

  const server = app.listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;

  return {
    server,
    url: `http://${host}:${port}`,
    async close() {
      // Stop accepting connections and let in-flight requests finish before dropping clients.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await Promise.allSettled([db.$disconnect(), connection.close()]);
    },
  };
}
