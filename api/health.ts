import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../prisma/client.js';
import { createMigrationCheck, readAppliedMigrations } from '../prisma/migration-check.js';
import { EXACT_PATHS } from './routing.js';

/** One dependency's state as GET /health/ready reports it. */
export interface CheckResult {
  status: 'pass' | 'fail';
  duration_ms: number;
  message?: string;
}

export interface Readiness {
  status: 'ready' | 'unready';
  checks: Record<string, CheckResult>;
}

export interface ReadinessProbe {
  /** Runs every check (each bounded in time) and says whether the API can take traffic. */
  check(): Promise<Readiness>;
  /** From now on the API is unready whatever its dependencies say: it is shutting down. */
  drain(): void;
  readonly draining: boolean;
}

class CheckTimeoutError extends Error {}

/**
 * Resolves or rejects as `work` does, but rejects after `timeoutMs` at the latest. `track` is
 * given the work, which may go on after that (see ReadinessProbe.settled).
 */
async function bounded<T>(work: () => Promise<T>, timeoutMs: number, track?: (running: Promise<unknown>) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const running = work();
  running.catch(() => {}); // its failure after the timeout has nobody to tell
  track?.(running);
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  if (error instanceof CheckTimeoutError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  // Prisma's messages span lines and can be long; the first line says what happened.
  return (message.split('\n').find((line) => line.trim() !== '') ?? 'failed').trim().slice(0, 300);
}

async function timed(
  work: () => Promise<string | undefined>,
  timeoutMs: number,
  track?: (running: Promise<unknown>) => void,
): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const message = await bounded(work, timeoutMs, track);
    return { status: 'pass', duration_ms: elapsed(), ...(message ? { message } : {}) };
  } catch (error) {
    return { status: 'fail', duration_ms: elapsed(), message: describe(error) };
  }
}

export interface ReadinessDeps {
  db: PrismaClient;
  temporal: Client;
  timeoutMs: number;
  /** Where the migrations this build expects live (prisma/migrations by default). */
  migrationsDir?: string;
  /** Settles once the API's first calls have warmed its connections; unready until then. */
  warmUp?: Promise<void>;
}

/**
 * Ready means: PostgreSQL answers, every migration of this build is applied there (as recorded
 * in `_prisma_migrations`, with the same checksum; later ones, from a newer build, are fine), and
 * Temporal answers. The checks run in parallel, each bounded by `timeoutMs`, so an answer never
 * takes much longer than that whatever hangs.
 */
export function createReadinessProbe({ db, temporal, timeoutMs, migrationsDir, warmUp }: ReadinessDeps): ReadinessProbe & {
  /**
   * Resolves once no check runs any more, those past their bound included (each ends by its own
   * deadline). The API's close awaits it before it closes the Temporal connection: a Temporal
   * check that timed out may still be waiting to retry (UNAVAILABLE is retried), and a retry on a
   * closed connection throws 'Channel has been shut down' from the client's timer, an uncaught
   * exception.
   */
  settled(): Promise<void>;
} {
  let draining = false;
  const running = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    running.add(work);
    const done = () => running.delete(work);
    work.then(done, done);
  };
  let warm = warmUp === undefined;
  void warmUp?.then(
    () => {
      warm = true;
    },
    () => {}, // stopped: the API is shutting down
  );
  const checkMigrations = createMigrationCheck(migrationsDir);

  return {
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
    },
    async settled() {
      await Promise.allSettled([...running]);
    },
    async check() {
      if (draining) {
        return { status: 'unready', checks: { shutdown: { status: 'fail', duration_ms: 0, message: 'shutting down' } } };
      }
      // One read of the database answers both its own check and the migrations'.
      const schema = readAppliedMigrations(db);
      schema.catch(() => {});
      const [databaseCheck, migrationsCheck, temporalCheck] = await Promise.all([
        timed(async () => void (await schema), timeoutMs),
        timed(async () => checkMigrations(await schema), timeoutMs),
        timed(
          async () => {
            await temporal.connection.withDeadline(Date.now() + timeoutMs, () => temporal.connection.workflowService.getSystemInfo({}));
            return undefined;
          },
          timeoutMs,
          track,
        ),
      ]);
      const checks: Record<string, CheckResult> = { database: databaseCheck, migrations: migrationsCheck, temporal: temporalCheck };
      if (!warm) checks.warmup = { status: 'fail', duration_ms: 0, message: 'warming up the connections to PostgreSQL and Temporal' };
      const ready = Object.values(checks).every((check) => check.status === 'pass') && !draining;
      return { status: ready ? 'ready' : 'unready', checks };
    },
  };
}

/**
 * GET /health/live: liveness only, the process answers. With a probe, GET /health/ready too: 200
 * when ready, else 503, with each check's pass or fail; `detail` adds each check's duration and
 * message (the management port): on the public port a failure's message (an address, a driver's
 * error) would tell anyone about the internals. Mount with publicRoutes (api/routing.ts): OPTIONS
 * and the other methods get the router's answers (200 or 405, with `Allow`).
 */
export function healthRoutes(probe?: ReadinessProbe, { detail = false }: { detail?: boolean } = {}): Router {
  const router = new Router(EXACT_PATHS);
  router.get('/health/live', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  if (!probe) return router;
  router.get('/health/ready', async (ctx) => {
    const readiness = await probe.check();
    ctx.status = readiness.status === 'ready' ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = detail
      ? readiness
      : {
          status: readiness.status,
          checks: Object.fromEntries(Object.entries(readiness.checks).map(([name, check]) => [name, { status: check.status }])),
        };
  });
  return router;
}
