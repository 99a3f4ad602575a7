import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.js';

export type { PrismaClient };

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  /** How long an idle connection is kept; 0: for ever (node-postgres' default: 10 s). */
  idleTimeoutMs?: number;
}

/**
 * A Prisma client over node-postgres. The timeouts bound every call: a database that is down
 * or hung makes a query fail within connectTimeoutMs + queryTimeoutMs instead of hanging.
 */
export function createPrismaClient(options: DatabaseOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMillis: options.idleTimeoutMs } : {}),
    query_timeout: options.queryTimeoutMs,
    statement_timeout: options.queryTimeoutMs,
  });
  return new PrismaClient({ adapter });
}
