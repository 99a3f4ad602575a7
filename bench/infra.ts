// The benchmark's own PostgreSQL, Temporal, venue and ingestion process, started with the
// project's launchers (scripts/infra) in a temporary folder on free ports, so nothing of
// `npm start` or of a test run is touched; and the facts about the machine the figures were
// measured on.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import { applyMigrations } from '../prisma/migrate.js';
import { startEmbeddedPostgres } from '../scripts/infra/embedded-postgres.js';
import { startIngestProcess } from '../scripts/infra/ingest-process.js';
import { startTemporalDevServer, TEMPORAL_CLI } from '../scripts/infra/temporal-dev-server.js';
import { startVenueProcess } from '../scripts/infra/venue-process.js';
import { findProcess } from './proc.js';

export interface Infra {
  databaseUrl: string;
  temporalAddress: string;
  postgresPid: number;
  /** null: a Temporal server the benchmark did not start and cannot see (no CPU figures for it). */
  temporalPid: number | null;
  /** How Temporal was run: the dev server's SQLite 'file' or 'memory', or 'external'. */
  temporal: 'file' | 'memory' | 'external';
  /** The venue's order entry (host:port), for the workers' VENUE_ADDRESS. */
  venueAddress: string;
  /** The venue's control port (base URL): the ingest scenario's load mode and stats. */
  venueControlUrl: string;
  venuePid: number;
  ingestPid: number;
  /** The ingestion process's GET /metrics (its socket-to-commit histogram, its report counter). */
  ingestMetricsUrl: string;
  stop(): Promise<void>;
}

export async function startInfra(options: {
  temporalDb: 'file' | 'memory';
  /** A Temporal server to use instead of starting one (for exploring its settings). */
  temporalAddress?: string;
  log: (line: string) => void;
}): Promise<Infra> {
  const stops: (() => Promise<void>)[] = [];
  const tempDir = await mkdtemp(path.join(os.tmpdir(), 'order-service-bench-'));
  await chmod(tempDir, 0o755); // PostgreSQL runs as its own user when we are root
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => {});
    await rm(tempDir, { recursive: true, force: true });
  };
  try {
    const pgDir = path.join(tempDir, 'postgres');
    const postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: await getPort() });
    stops.push(() => postgres.stop());
    const postgresPid = Number((await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    await applyMigrations(postgres.url);
    options.log(`PostgreSQL at ${postgres.url.replace(/:[^:@]*@/, ':***@')} (pid ${postgresPid}), migrations applied`);

    // One venue for the whole run, scripted (no random fills: a marketable order fills at once),
    // at its default failure rate and latency: a scenario's workers that want others send
    // theirs per connection (entry_options, from their EXCHANGE_* settings). Started while
    // Temporal starts: it needs only PostgreSQL.
    const venueEnv = {
      DATABASE_URL: postgres.url,
      VENUE_PORT: String(await getPort()),
      VENUE_CONTROL_PORT: String(await getPort()),
      VENUE_DATA_DIR: path.join(tempDir, 'venue'),
      VENUE_MODE: 'scripted',
    };
    const venueStarted = startVenueProcess(venueEnv).then((venue) => {
      stops.push(() => venue.stop());
      return venue;
    });
    let temporal: Pick<Infra, 'temporalAddress' | 'temporalPid' | 'temporal'>;
    try {
      if (options.temporalAddress) {
        const port = options.temporalAddress.split(':').at(-1) ?? '';
        const temporalPid = findProcess(['--port', port]);
        options.log(`using the Temporal server at ${options.temporalAddress}${temporalPid === null ? '' : ` (pid ${temporalPid})`}`);
        temporal = { temporalAddress: options.temporalAddress, temporalPid, temporal: 'external' };
      } else {
        temporal = await startTemporal(options.temporalDb, tempDir, stops, options.log);
      }
    } finally {
      // Whatever became of Temporal, the venue is waited for, so that stop() stops it too.
      await venueStarted.catch(() => {});
    }
    const venue = await venueStarted;
    // One ingestion process for the whole run, caught up all along (started later, it would
    // replay the earlier scenarios' reports in the middle of a measurement): the placed orders'
    // fills reach the orders table and their workflows hear of their end.
    const ingestMetricsPort = await getPort();
    const ingest = await startIngestProcess({
      DATABASE_URL: postgres.url,
      VENUE_ADDRESS: venue.address,
      TEMPORAL_ADDRESS: temporal.temporalAddress,
      INGEST_METRICS_PORT: String(ingestMetricsPort),
    });
    stops.push(() => ingest.stop());
    if (venue.pid === undefined || ingest.pid === undefined) throw new Error('the venue or ingest process has no pid');
    options.log(`venue at ${venue.address} (pid ${venue.pid}, scripted), ingest (pid ${ingest.pid})`);
    return {
      databaseUrl: postgres.url,
      postgresPid,
      ...temporal,
      venueAddress: venue.address,
      venueControlUrl: venue.controlUrl,
      venuePid: venue.pid,
      ingestPid: ingest.pid,
      ingestMetricsUrl: `http://127.0.0.1:${ingestMetricsPort}/metrics`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startTemporal(
  temporalDb: 'file' | 'memory',
  tempDir: string,
  stops: (() => Promise<void>)[],
  log: (line: string) => void,
): Promise<Pick<Infra, 'temporalAddress' | 'temporalPid' | 'temporal'>> {
  const port = await getPort();
  // Like `npm start`: the dev server keeps its state in a SQLite file (WAL); 'memory' is the
  // test suite's setting, for comparison.
  const temporal = await startTemporalDevServer({
    port,
    uiPort: null,
    dbFile: temporalDb === 'file' ? path.join(tempDir, 'temporal.db') : null,
  });
  stops.push(() => temporal.stop());
  const temporalPid = findProcess(['start-dev', '--port', String(port)]);
  if (temporalPid === null) throw new Error('could not find the Temporal dev server process');
  log(`Temporal dev server at ${temporal.address} (pid ${temporalPid}, SQLite ${temporalDb})`);
  return { temporalAddress: temporal.address, temporalPid, temporal: temporalDb };
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  temporalCli: string;
  /** The commit measured, and the files that differed from it when the run started. */
  commit: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  let temporalCli = 'unknown';
  try {
    temporalCli = execFileSync(TEMPORAL_CLI, ['--version'], { encoding: 'utf8' })
      .trim()
      .replace(/^temporal version /, '');
  } catch {
    // reported as unknown
  }
  let commit = 'unknown';
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', cwd: new URL('..', import.meta.url) }).trim();
    const changed = git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean).length;
    commit = `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + ${changed} uncommitted file(s)` : ''}`;
  } catch {
    // not a git checkout
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    temporalCli,
    commit,
    date: new Date().toISOString(),
  };
}
