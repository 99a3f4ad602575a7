import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import pRetry from 'p-retry';
import type { Config } from '../config/config.js';
import type { PrismaClient } from '../prisma/client.js';

/**
 * The first calls of a fresh process are slow (connections to open, the client's code paths to
 * load), and under load its first workflow starts used to miss their deadline for seconds. So
 * before the API reports ready it opens its database pool and walks the path of a workflow call
 * once (asking for a workflow that does not exist), retrying until both work.
 */
export function warmConnections(
  pools: { db: PrismaClient; connections: number }[],
  client: Client,
  config: Config,
  alsoWarm: () => Promise<void>,
): { done: Promise<void>; stop(): Promise<void> } {
  const stopping = new AbortController();
  let current: Promise<unknown> = Promise.resolve();
  const attempt = async () => {
    const run = (async () => {
      await Promise.all([
        ...pools.flatMap(({ db, connections }) => Array.from({ length: connections }, () => db.$queryRaw`SELECT 1`)),
        alsoWarm(),
      ]);
      await client
        .withDeadline(Date.now() + config.TEMPORAL_RPC_TIMEOUT_MS, () => client.workflow.getHandle('warm-up-never-started').describe())
        .catch((error: unknown) => {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        });
    })();
    current = run.catch(() => {});
    await run;
  };
  const done = pRetry(attempt, { forever: true, minTimeout: 200, maxTimeout: 5000, signal: stopping.signal });
  done.catch(() => {}); // stopped at shutdown
  return {
    done,
    // Waits for the attempt in flight (bounded by its deadline): closing a connection under a
    // call that the client still retries throws from the client's retry timer.
    async stop() {
      stopping.abort();
      await current;
    },
  };
}
