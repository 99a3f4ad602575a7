import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import getPort from 'get-port';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createReadinessProbe, type Readiness } from '../../api/health.js';
import type { ApiServer } from '../../api/server.js';
import { createPrismaClient } from '../../prisma/client.js';
import { applyMigrations, readMigrations } from '../../prisma/migrate.js';
import { type RunningPostgres, startEmbeddedPostgres } from '../../scripts/infra/embedded-postgres.js';
import { testConfig } from '../support/config.js';
import { request } from '../support/http.js';
import { blackhole } from '../support/network.js';
import { apiStarter } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// GET /health/ready against dependencies that go away and come back. The tests that stop
// PostgreSQL run their own, so the rest of the suite keeps the shared one.
const TIMEOUT_MS = 2000; // READINESS_TIMEOUT_MS here (a shared 2-core machine is slow at times)
// Each check is bounded by the timeout; the rest is slack for a busy 2-core machine.
const ANSWER_BOUND_MS = TIMEOUT_MS + 1500;

let tempDir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'health-'));
  await chmod(tempDir, 0o755); // PostgreSQL runs as its own user when we are root
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(() => rm(tempDir, { recursive: true, force: true }));

const startApi = apiStarter((close) => cleanups.push(close), { READINESS_TIMEOUT_MS: String(TIMEOUT_MS) });

/** The readiness with each check's detail: the management port's (the public one says pass or fail only). */
async function ready(api: ApiServer, base = api.managementUrl): Promise<{ status: number; body: Readiness; elapsedMs: number }> {
  const started = performance.now();
  // Through the contract-checking helper: every answer must match /openapi.json.
  const response = await request(`${base}/health/ready`);
  return { status: response.status, body: response.body as Readiness, elapsedMs: performance.now() - started };
}

/** Waits until the API says ready (the first checks also open its connections, which takes a moment). */
async function becomesReady(api: ApiServer): Promise<{ status: number; body: Readiness; elapsedMs: number }> {
  let last: unknown;
  try {
    return await waitFor(
      async () => {
        const answer = await ready(api);
        last = answer.body;
        return answer.status === 200 ? answer : undefined;
      },
      30_000,
      'readiness',
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last answer: ${JSON.stringify(last)}`);
  }
}

/** The first answer in which PostgreSQL's check passed (on a cold start, opening the pool may exceed the bound once). */
function withDatabaseUp(api: ApiServer) {
  return waitFor(
    async () => {
      const answer = await ready(api);
      return answer.body.checks.database?.status === 'pass' ? answer : undefined;
    },
    30_000,
    'the database check to pass',
  );
}

describe('GET /health/ready', () => {
  it('is ready with every dependency up, and says what it checked', async () => {
    const api = await startApi();
    const answer = await becomesReady(api);
    expect(answer.body.status).toBe('ready');
    expect(Object.keys(answer.body.checks).sort()).toEqual(['database', 'migrations', 'temporal']);
    for (const check of Object.values(answer.body.checks)) expect(check.status).toBe('pass');
    expect(answer.body.checks.migrations?.message).toBe(`${(await readMigrations()).length} applied`);
    // Liveness says nothing about dependencies.
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);
  });

  it('says only pass or fail on the public port: no durations, no messages', async () => {
    const api = await startApi();
    await becomesReady(api);
    const open = await ready(api, api.url);
    expect(open.status).toBe(200);
    expect(open.body).toEqual({
      status: 'ready',
      checks: { database: { status: 'pass' }, migrations: { status: 'pass' }, temporal: { status: 'pass' } },
    });
    const refused = await startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${await getPort()}` });
    const down = await waitFor(
      async () => {
        const answer = await ready(refused, refused.url);
        return answer.body.checks.temporal?.status === 'fail' ? answer : undefined;
      },
      30_000,
      'the Temporal check to fail',
    );
    expect(down.status).toBe(503);
    expect(JSON.stringify(down.body)).not.toMatch(/message|duration|127\.0\.0\.1|ECONNREFUSED/);
    // The management port says why.
    expect((await ready(refused)).body.checks.temporal?.message).toBeTruthy();
  });

  it('turns unready when PostgreSQL stops and ready again when it returns', { timeout: 180_000 }, async () => {
    const postgres: RunningPostgres = await startEmbeddedPostgres({ dataDir: path.join(tempDir, 'pg'), port: await getPort() });
    cleanups.push(() => postgres.stop());
    await applyMigrations(postgres.url);
    const api = await startApi({ DATABASE_URL: postgres.url });
    await becomesReady(api);

    await postgres.stop();
    for (let i = 0; i < 3; i += 1) {
      const down = await ready(api);
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('unready');
      expect(down.body.checks.database?.status).toBe('fail');
      expect(down.body.checks.database?.message).toBeTruthy();
      expect(down.body.checks.migrations?.status).toBe('fail');
      expect(down.body.checks.temporal?.status).toBe('pass');
      expect(down.elapsedMs).toBeLessThan(ANSWER_BOUND_MS);
    }
    // Liveness is unaffected: restarting the process would not help.
    expect((await fetch(`${api.url}/health/live`)).status).toBe(200);

    await postgres.start();
    expect((await becomesReady(api)).body.status).toBe('ready');
  });

  it('is unready while the migrations of this build are not applied', { timeout: 60_000 }, async () => {
    const name = `health_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: testConfig().DATABASE_URL });
    await admin.connect();
    cleanups.push(() => admin.end());
    await admin.query(`CREATE DATABASE ${name}`);
    cleanups.push(() => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    const url = new URL(testConfig().DATABASE_URL);
    url.pathname = `/${name}`;
    const api = await startApi({ DATABASE_URL: url.toString() });

    const empty = await withDatabaseUp(api);
    expect(empty.status).toBe(503);
    expect(empty.body.checks.database?.status).toBe('pass');
    expect(empty.body.checks.migrations).toMatchObject({ status: 'fail', message: expect.stringContaining('_prisma_migrations') });

    await applyMigrations(url.toString());
    await becomesReady(api);

    // A migration of this build missing from the database (as if a deploy skipped the job).
    const [last] = (await readMigrations()).slice(-1);
    const direct = new pg.Client({ connectionString: url.toString() });
    await direct.connect();
    cleanups.push(() => direct.end());
    await direct.query('DELETE FROM "_prisma_migrations" WHERE migration_name = $1', [last!.name]);
    const behind = await ready(api);
    expect(behind.status).toBe(503);
    expect(behind.body.checks.migrations).toMatchObject({ status: 'fail', message: `not applied: ${last!.name}` });
  });

  it('is unready when Temporal is unreachable, refused or hung, within the bound', { timeout: 60_000 }, async () => {
    const refused = await startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${await getPort()}` });
    const hung = await blackhole();
    cleanups.push(hung.close);
    const hanging = await startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${hung.port}` });
    for (const api of [refused, hanging]) {
      await withDatabaseUp(api);
      for (let i = 0; i < 2; i += 1) {
        const answer = await ready(api);
        expect(answer.status).toBe(503);
        expect(answer.body.status).toBe('unready');
        expect(answer.body.checks.temporal?.status).toBe('fail');
        expect(answer.body.checks.database?.status).toBe('pass');
        expect(answer.body.checks.migrations?.status).toBe('pass');
        expect(answer.elapsedMs).toBeLessThan(ANSWER_BOUND_MS);
      }
    }
  });

  it('stays unready until the API has warmed its connections', async () => {
    const config = testConfig();
    const db = createPrismaClient({ url: config.DATABASE_URL, poolSize: 2, connectTimeoutMs: 1000, queryTimeoutMs: 5000 });
    const temporal = new Client({ connection: await Connection.connect({ address: config.TEMPORAL_ADDRESS }) });
    cleanups.push(
      () => db.$disconnect(),
      () => temporal.connection.close(),
    );
    let finish!: () => void;
    const warmUp = new Promise<void>((resolve) => (finish = resolve));
    const probe = createReadinessProbe({ db, temporal, timeoutMs: TIMEOUT_MS, warmUp });

    const cold = await probe.check();
    expect(cold.status).toBe('unready');
    expect(cold.checks.warmup?.status).toBe('fail');
    expect([cold.checks.database?.status, cold.checks.temporal?.status]).toEqual(['pass', 'pass']);
    finish();
    await warmUp;
    const warm = await probe.check();
    expect(warm.status).toBe('ready');
    expect(warm.checks.warmup).toBeUndefined();
  });

  it('turns unready at once when the API starts shutting down', async () => {
    const api = await startApi();
    await becomesReady(api);
    api.readiness.drain();
    const draining = await ready(api);
    expect(draining.status).toBe(503);
    expect(draining.body).toEqual({
      status: 'unready',
      checks: { shutdown: { status: 'fail', duration_ms: 0, message: 'shutting down' } },
    });
  });
});
