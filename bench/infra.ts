// The benchmark's own PostgreSQL and Temporal, started with the project's launchers
// (scripts/infra) in a temporary folder on free ports, so nothing of `npm start` or of a test
// run is touched; and the facts about the machine the figures were measured on.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import { applyMigrations } from '../prisma/migrate.js';
import { startEmbeddedPostgres } from '../scripts/infra/embedded-postgres.js';
import { startTemporalDevServer, TEMPORAL_CLI } from '../scripts/infra/temporal-dev-server.js';
import { findProcess } from './proc.js';

export interface Infra {
  databaseUrl: string;
  temporalAddress: string;
  postgresPid: number;
  /** null: a Temporal server the benchmark did not start and cannot see (no CPU figures for it). */
  temporalPid: number | null;
  /** How Temporal was run: the dev server's SQLite 'file' or 'memory', or 'external'. */
  temporal: 'file' | 'memory' | 'external';
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

    if (options.temporalAddress) {
      const port = options.temporalAddress.split(':').at(-1) ?? '';
      const temporalPid = findProcess(['--port', port]);
      options.log(`using the Temporal server at ${options.temporalAddress}${temporalPid === null ? '' : ` (pid ${temporalPid})`}`);
      return { databaseUrl: postgres.url, temporalAddress: options.temporalAddress, postgresPid, temporalPid, temporal: 'external', stop };
    }
    const port = await getPort();
    // Like `npm start`: the dev server keeps its state in a SQLite file (WAL); 'memory' is the
    // test suite's setting, for comparison.
    const temporal = await startTemporalDevServer({
      port,
      uiPort: null,
      dbFile: options.temporalDb === 'file' ? path.join(tempDir, 'temporal.db') : null,
    });
    stops.push(() => temporal.stop());
    const temporalPid = findProcess(['start-dev', '--port', String(port)]);
    if (temporalPid === null) throw new Error('could not find the Temporal dev server process');
    options.log(`Temporal dev server at ${temporal.address} (pid ${temporalPid}, SQLite ${options.temporalDb})`);
    return { databaseUrl: postgres.url, temporalAddress: temporal.address, postgresPid, temporalPid, temporal: options.temporalDb, stop };
  } catch (error) {
    await stop();
    throw error;
  }
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
