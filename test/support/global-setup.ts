import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../../prisma/migrate.js';
import { startEmbeddedPostgresProcess } from '../../scripts/infra/embedded-postgres-process.js';
import { startIngestProcess } from '../../scripts/infra/ingest-process.js';
import { startTemporalDevServer } from '../../scripts/infra/temporal-dev-server.js';
import { startVenueProcess } from '../../scripts/infra/venue-process.js';
import { replayWorkflows } from './replay-check.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    /** The suite's venue process (exchange/main.ts): host:port of its order entry, and its control port's URL. */
    venueAddress: string;
    venueControlUrl: string;
  }
}

/**
 * One real PostgreSQL and one real Temporal dev server for the whole run, unless DATABASE_URL /
 * TEMPORAL_ADDRESS name servers someone else runs. Tests that stop a server start their own.
 */
export default async function setup(project: TestProject) {
  // `npm run test:unit`: pure and fake-backed tests, nothing to start (scripts/run.mjs).
  if (process.env.TEST_TIER === 'unit') return;
  // A minute early: a server someone else runs may keep another clock.
  const startedSince = new Date(Date.now() - 60_000);
  const stops: (() => Promise<void>)[] = [];
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'order-service-test-'));
  await chmod(tempDir, 0o755); // PostgreSQL runs as its own user when we are root

  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    // In a child process: embedded-postgres' exit hook would otherwise set this process's exit
    // code (see startEmbeddedPostgresProcess).
    const postgres = await startEmbeddedPostgresProcess({ dataDir: path.join(tempDir, 'postgres'), port: await getPort() });
    stops.push(() => postgres.stop());
    databaseUrl = postgres.url;
  }
  await applyMigrations(databaseUrl);

  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    const temporal = await startTemporalDevServer({ port: await getPort(), uiPort: null, dbFile: null });
    stops.push(() => temporal.stop());
    temporalAddress = temporal.address;
  }

  // One venue for the suite, in scripted mode (no random fills); each worker's connection may set
  // its own failure rate and latency (EXCHANGE_FAILURE_RATE / EXCHANGE_LATENCY_MS of the worker).
  const venue = await startVenueProcess({
    DATABASE_URL: databaseUrl,
    VENUE_PORT: String(await getPort()),
    VENUE_CONTROL_PORT: String(await getPort()),
    VENUE_DATA_DIR: path.join(tempDir, 'venue'),
    VENUE_MODE: 'scripted',
  });
  stops.push(() => venue.stop());
  // One ingestion process for the suite (ingest/main.ts): it holds the venue's execution session and
  // persists the fills of every order the suite's workers place. Tests that kill it start their own.
  const ingest = await startIngestProcess({
    DATABASE_URL: databaseUrl,
    VENUE_ADDRESS: venue.address,
    TEMPORAL_ADDRESS: temporalAddress,
  });
  stops.push(() => ingest.stop());

  project.provide('venueAddress', venue.address);
  project.provide('venueControlUrl', venue.controlUrl);
  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalAddress', temporalAddress);

  return async () => {
    await checkReplay(temporalAddress, startedSince);
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rm(tempDir, { recursive: true, force: true });
  };
}

/** Fails the run (its exit code; a teardown's error would not) when a workflow of it does not replay. */
async function checkReplay(address: string, startedSince: Date): Promise<void> {
  try {
    const { replayed, problems } = await replayWorkflows({ address, startedSince });
    if (problems.length === 0) {
      console.log(`Replay check: the ${replayed} workflows of this run replay on this code.`);
      return;
    }
    for (const { workflowId, runId, problem, events } of problems) {
      console.error(`Replay check: ${workflowId} (run ${runId}) ${problem}\n  ${events.join('\n  ')}`);
    }
    console.error(`Replay check FAILED: ${problems.length} problem(s) among ${replayed} workflows.`);
  } catch (error) {
    console.error('Replay check could not run:', error);
  }
  process.exitCode = 1;
}
