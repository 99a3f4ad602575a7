import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import type { Config } from '../config/config.js';
import { annotateLog } from '../config/log-context.js';
import type { Logger } from '../config/logger.js';
import { workflowIdFor } from '../domain/order.js';
import { AccountsRepository } from '../prisma/accounts-repository.js';
import { createPrismaClient } from '../prisma/client.js';
import { ExecutionsQuery } from '../prisma/executions-query.js';
import { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import { OrderStreamQuery, STREAM_SESSION_OPTIONS } from '../prisma/order-stream.js';
import { OrdersQuery } from '../prisma/orders-query.js';
import { OrdersRepository } from '../prisma/orders-repository.js';
import { PositionsQuery } from '../prisma/positions-query.js';
import { createOrderWorkflowProbe } from '../temporal/pending-orders.js';
import { createAccessControl } from './access.js';
import { createApp } from './app.js';
import { createEventHub, EVENT_STREAM_CONNECTIONS, type EventHub } from './event-stream.js';
import { createReadinessProbe, type ReadinessProbe } from './health.js';
import { createManagementApp } from './management.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { createOpenOutcomeTracker } from './open-outcomes.js';
import { createOrderAmendment, createOrderCancellation, createPlacementStarter } from './placement-client.js';
import { createRefusalLog } from './refusal-log.js';
import type { FaultInjector } from './submit-order.js';
import { createTurnQueue } from './turn-queue.js';
import { warmConnections } from './warm-up.js';

// Longer than any request can take (see docs/api.md, "Bounded time"), so only a dead request's key is stale.
const IDEMPOTENCY_STALE_LOCK_MS = 30_000;

export interface ApiServer {
  server: Server;
  url: string;
  /** The management port's server (GET /metrics, the health routes with detail). */
  managementUrl: string;
  metrics: ApiMetrics;
  readiness: ReadinessProbe;
  /** GET /events' streams (their count, for tests and the bench). */
  events: Pick<EventHub, 'clients'>;
  /**
   * Graceful stop: readiness answers 503 at once; after `drainDelayMs` the listener closes (new
   * connections are refused), requests in flight finish (their connections close after the
   * answer), and after `timeoutMs` whatever is still open is cut; then the database and Temporal
   * clients are closed.
   */
  close(options?: { drainDelayMs?: number; timeoutMs?: number }): Promise<void>;
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
  // The fence's own pool, kept open: the rejection of an order whose start failed never waits
  // behind other requests' inserts (a burst exhausts the main pool; a start that lands after its
  // deadline then needs its fence at once, or its workflow claims the order first).
  const fenceDb = createPrismaClient({
    url: config.DATABASE_URL,
    poolSize: config.DB_FENCE_POOL_SIZE,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
    idleTimeoutMs: 0,
  });
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS, connectTimeout: config.TEMPORAL_RPC_TIMEOUT_MS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const metrics = createApiMetrics();
  const access = createAccessControl(config, new AccountsRepository(db), metrics.registry, logger);
  const refusals = createRefusalLog({ logger, intervalMs: config.REFUSAL_LOG_INTERVAL_MS });
  const warmUp = warmConnections(
    [
      { db, connections: config.DB_POOL_SIZE },
      { db: fenceDb, connections: config.DB_FENCE_POOL_SIZE },
    ],
    client,
    config,
    access.warmUp,
  );
  const readiness = createReadinessProbe({ db, temporal: client, timeoutMs: config.READINESS_TIMEOUT_MS, warmUp: warmUp.done });
  const starter = createPlacementStarter(client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_START_CONCURRENCY);
  const orders = new OrdersRepository(db);
  const fence = new OrdersRepository(fenceDb);
  const openOutcomes = createOpenOutcomeTracker({ orders: fence, logger, metrics });
  // GET /events reads through connections of its own (node-postgres, no Prisma: rows made into
  // frames at the least cost), opened when first needed.
  const streamDb = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: EVENT_STREAM_CONNECTIONS,
    connectionTimeoutMillis: config.DB_CONNECT_TIMEOUT_MS,
    query_timeout: config.DB_QUERY_TIMEOUT_MS,
    statement_timeout: config.DB_QUERY_TIMEOUT_MS,
    application_name: 'api:events',
    options: STREAM_SESSION_OPTIONS,
  });
  // An idle connection's error (the server went away) is the pool's to discard, not a crash.
  streamDb.on('error', (error) => logger.warn({ err: error }, 'idle event stream database connection failed'));
  const events = createEventHub(
    new OrderStreamQuery(streamDb),
    {
      pollIntervalMs: config.SSE_POLL_INTERVAL_MS,
      ringSize: config.SSE_RING_SIZE,
      maxClients: config.SSE_MAX_CLIENTS,
      clientBufferBytes: config.SSE_CLIENT_BUFFER_BYTES,
      heartbeatMs: config.SSE_HEARTBEAT_MS,
    },
    logger,
  );
  const app = createApp({
    access: access.middleware,
    orders,
    ordersQuery: new OrdersQuery(db),
    executions: new ExecutionsQuery(db),
    positions: new PositionsQuery(db),
    cancellation: createOrderCancellation(client),
    amendment: createOrderAmendment(client),
    fence,
    budgets: { orderMs: config.ORDER_BUDGET_MS, cancelMs: config.CANCEL_BUDGET_MS },
    openOutcome: openOutcomes.report,
    // As many inserts at once as the pool has connections; an insert is bounded by both timeouts.
    inserts: {
      queue: createTurnQueue(config.DB_POOL_SIZE),
      boundMs: config.DB_CONNECT_TIMEOUT_MS + config.DB_QUERY_TIMEOUT_MS,
    },
    placement: {
      start(ticket, deadline) {
        // From here on the request's log lines name the order and its workflow.
        annotateLog({ orderId: ticket.id, workflowId: workflowIdFor(ticket.id) });
        return starter.start(ticket, deadline);
      },
    },
    idempotency: {
      keys: new IdempotencyRepository(db),
      probe: createOrderWorkflowProbe(client, config.TEMPORAL_RPC_TIMEOUT_MS),
      ttlMs: config.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
      staleLockMs: IDEMPOTENCY_STALE_LOCK_MS,
    },
    logger,
    faults,
    metrics,
    refusals,
    readiness,
    events,
    settings: config,
  });

  // Slow clients (docs/api.md, "Bounded time"): Node answers 408 and closes a connection whose headers,
  // or whole request, did not arrive in time; it checks every second (its default: 30 s).
  const server = createServer(
    { headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS, requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 },
    app.callback(),
  ).listen(config.PORT, config.HOST);
  const management = createServer(createManagementApp(metrics, readiness).callback()).listen(
    config.MANAGEMENT_PORT,
    config.MANAGEMENT_HOST,
  );
  await Promise.all([listening(server), listening(management)]);

  let closing: Promise<void> | undefined;
  return {
    server,
    url: urlOf(server, config.HOST),
    managementUrl: urlOf(management, config.MANAGEMENT_HOST),
    metrics,
    readiness,
    events,
    close({ drainDelayMs = 0, timeoutMs = config.SHUTDOWN_TIMEOUT_MS } = {}) {
      closing ??= (async () => {
        readiness.drain();
        if (drainDelayMs > 0) await sleep(drainDelayMs);
        // Open event streams never finish by themselves: ended here, their clients reconnect elsewhere.
        await events.close();
        await closeGracefully(server, timeoutMs);
        refusals.close(); // the last summary lines, after the last requests
        management.closeAllConnections();
        await new Promise((resolve) => management.close(resolve));
        openOutcomes.stop();
        await warmUp.stop();
        await readiness.settled(); // a Temporal check past its bound may still retry on the connection
        await Promise.allSettled([db.$disconnect(), fenceDb.$disconnect(), streamDb.end(), connection.close(), access.close()]);
      })();
      return closing;
    },
  };
}

function listening(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
}

function urlOf(server: Server, configuredHost: string): string {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = configuredHost === '0.0.0.0' || configuredHost === '::' ? 'localhost' : configuredHost;
  return `http://${host}:${port}`;
}

/**
 * Stops accepting connections and waits for the requests in flight. Connections kept alive are
 * closed as soon as they are idle (answers during the drain say `Connection: close`); after
 * `timeoutMs` every connection still open is cut.
 */
async function closeGracefully(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
}
