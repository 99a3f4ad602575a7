import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import { afterAll, describe, expect, it } from 'vitest';
import { postJson, request } from '../support/http.js';
import { bearer, createKey } from '../support/keys.js';
import { runSmoke } from '../support/smoke.js';
import { waitFor } from '../support/wait.js';

// `npm start` as a user runs it: `node scripts/run.mjs start` in a process group of its own, as a
// terminal runs its foreground job, on free ports and a data folder of the test's own.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 240_000;

interface Launch {
  child: ChildProcess;
  stdout(): string;
  output(): string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function portsAndDir() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'start-launcher-'));
  await chmod(dataDir, 0o755); // PostgreSQL runs as its own user when we are root
  return {
    dataDir,
    ports: {
      PORT: await getPort(),
      POSTGRES_PORT: await getPort(),
      TEMPORAL_PORT: await getPort(),
      TEMPORAL_UI_PORT: await getPort(),
      VENUE_PORT: await getPort(),
      VENUE_CONTROL_PORT: await getPort(),
      MANAGEMENT_PORT: await getPort(),
    },
  };
}

// The second start's small per-account limit, so that a few requests show whether the demo's are
// limited. The first start keeps the defaults: the smoke script's key makes a dozen requests.
const SMALL_RATE_LIMIT = { RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_BURST: '0' };
const ORDER = { type: 'market', side: 'buy', instrument: 'US0378331005', quantity: 1 };

function launch(dataDir: string, ports: Record<string, number>, settings: Record<string, string>): Launch {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info' };
  for (const name of ['RATE_LIMIT_KEYLESS', 'RATE_LIMIT_PER_MINUTE', 'RATE_LIMIT_BURST']) delete env[name];
  Object.assign(env, settings);
  for (const [name, port] of Object.entries(ports)) env[name] = String(port);
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, ['scripts/run.mjs', 'start'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit') as Launch['exited'];
  // Rejects on the child's 'error' (a failed spawn or kill); the tests await it and throw, but
  // until then it must not count as an unhandled rejection.
  exited.catch(() => {});
  return { child, stdout: () => stdout, output: () => output, exited };
}

async function waitForReady(run: Launch): Promise<void> {
  await waitFor(
    async () => {
      if (run.child.exitCode !== null) throw new Error(`npm start exited:\n${run.output()}`);
      return run.stdout().includes('[start] ready\n') ? true : undefined;
    },
    START_TIMEOUT_MS,
    '[start] ready',
  );
}

/** The process groups the launcher started, by name (each child's pid is its group's id). */
function groupsOf(stdout: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const [, name, pid] of stdout.matchAll(/^\[start\] started (API|worker|ingest|venue|Temporal|PostgreSQL) \(pid (\d+)\)$/gm)) {
    groups.set(name as string, Number(pid));
  }
  return groups;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** What of a start is still there: its process groups alive, its ports taken (named, for a failure's message). */
async function leftovers(groups: Map<string, number>, ports: Record<string, number>): Promise<string[]> {
  const left: string[] = [];
  for (const [name, pgid] of groups) if (groupAlive(pgid)) left.push(`${name} (process group ${pgid})`);
  for (const [name, port] of Object.entries(ports)) if (!(await portFree(port))) left.push(`${name} ${port} taken`);
  return left;
}

async function nothingLeft(groups: Map<string, number>, ports: Record<string, number>): Promise<true | undefined> {
  return (await leftovers(groups, ports)).length === 0 ? true : undefined;
}

/** Waits until nothing of the start is left; a timeout names what still was. */
async function untilNothingLeft(
  groups: Map<string, number>,
  ports: Record<string, number>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  try {
    await waitFor(() => nothingLeft(groups, ports), timeoutMs, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}; still there: ${(await leftovers(groups, ports)).join(', ')}`);
  }
}

/** `count` POST /orders without a key at once, six times the per-account limit: every one 201. */
async function allCreatedWithoutKey(api: string, count: number): Promise<void> {
  const answers = await Promise.all(Array.from({ length: count }, () => postJson(`${api}/orders`, ORDER)));
  expect(answers.map((answer) => answer.status)).toEqual(Array(count).fill(201));
}

describe('npm start', () => {
  let dataDir: string;
  let ports: Record<string, number>;
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  let previous: Launch | undefined;
  function started(settings: Record<string, string> = {}): Launch {
    const run = launch(dataDir, ports, settings);
    previous = run;
    cleanups.push(async () => {
      if (run.child.exitCode === null && run.child.signalCode === null) process.kill(-(run.child.pid as number), 'SIGKILL');
    });
    return run;
  }

  // 840 s: 420 s for the start and the stop, and the smoke script's bound (test/support/smoke.ts).
  it('is ready only when /health/ready answers 200, and Ctrl-C stops the API, the worker, Temporal, PostgreSQL in that order, each with its last lines', async () => {
    ({ dataDir, ports } = await portsAndDir());
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const run = started();
    await waitForReady(run);

    const ready = await fetch(`http://127.0.0.1:${ports.PORT}/health/ready`);
    expect(ready.status, await ready.text()).toBe(200);
    const stdout = run.stdout();
    expect(stdout).toContain(`http://localhost:${ports.PORT}/docs`);
    expect(stdout).toContain(`http://localhost:${ports.TEMPORAL_UI_PORT}`);
    expect(stdout).toContain(`127.0.0.1:${ports.TEMPORAL_PORT}`);
    expect(stdout).toContain(`postgresql://postgres:postgres@127.0.0.1:${ports.POSTGRES_PORT}/orders`);
    const groups = groupsOf(stdout);
    expect([...groups.keys()]).toEqual(['PostgreSQL', 'Temporal', 'venue', 'ingest', 'worker', 'API']);

    // The local demo: the task's plain POST without a key is the demo account's; the demo key
    // npm start printed and kept acts as that account too; a bad key is still refused.
    expect(stdout).toContain('AUTH_REQUIRED=false (local demo)');
    const demoKey = (await readFile(path.join(dataDir, 'demo-api-key'), 'utf8')).trim();
    expect(stdout).toContain(demoKey);
    const api = `http://127.0.0.1:${ports.PORT}`;
    const plain = await postJson(`${api}/orders`, ORDER);
    expect(plain.status, plain.text).toBe(201);
    const withKey = await request(`${api}/orders/${(plain.body as { id: string }).id}`, {
      headers: { Authorization: `Bearer ${demoKey}` },
    });
    expect(withKey.status).toBe(200);
    // Requests without a key are not rate limited, and npm start says so.
    expect(stdout).toContain(
      'Rate limit:      off for requests without a key (RATE_LIMIT_KEYLESS=true turns it on); with a key 200 requests a minute per account (+50 per 10 minutes)\n',
    );
    await allCreatedWithoutKey(api, 30);
    const badKey = await request(`${api}/orders`, { headers: { Authorization: `Bearer ${demoKey.slice(0, -2)}xx` } });
    expect(badKey.status).toBe(401);
    // Metrics are on the management port only.
    expect((await fetch(`http://127.0.0.1:${ports.MANAGEMENT_PORT}/metrics`)).status).toBe(200);

    // The smoke script CI's container job runs (scripts/smoke.mjs; test/system/smoke.test.ts runs it
    // against the production entry points): its key made with `npm run keys`, which uses the
    // PostgreSQL of the running npm start (on POSTGRES_PORT) when DATABASE_URL is unset.
    const smokeEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, POSTGRES_PORT: String(ports.POSTGRES_PORT) };
    delete smokeEnv.DATABASE_URL;
    const smoke = await runSmoke(api, `http://127.0.0.1:${ports.MANAGEMENT_PORT}`, smokeEnv);
    expect(smoke.code, `${smoke.stdout}\n${smoke.stderr}\n--- npm start:\n${run.output().slice(-8000)}`).toBe(0);
    expect(smoke.stdout).toContain('smoke: passed');

    // Ctrl-C: the terminal sends SIGINT to every process of its foreground group at once.
    process.kill(-(run.child.pid as number), 'SIGINT');
    const [code] = await run.exited;
    const out = run.stdout();
    expect(code, run.output()).toBe(0);

    // Each service's own last line comes between the launcher's 'stopping' and 'stopped' lines.
    const steps = [
      '[start] stopping API (pid',
      '(api): API stopped',
      '[start] API stopped (exit code 0)',
      '[start] stopping worker (pid',
      '(worker): worker stopped',
      '[start] worker stopped (exit code 0)',
      '[start] stopping ingest (pid',
      '(ingest): ingest stopped',
      '[start] ingest stopped (exit code 0)',
      '[start] stopping venue (pid',
      '(venue): venue stopped',
      '[start] venue stopped (exit code 0)',
      '[start] stopping Temporal (pid',
      '[start] Temporal stopped',
      '[start] stopping PostgreSQL (pid',
      '[start] PostgreSQL stopped',
      '[start] stopped',
    ];
    let previous = -1;
    for (const step of steps) {
      const index = out.indexOf(step, previous + 1);
      expect(index, `"${step}" after the steps before it in:\n${out}`).toBeGreaterThan(previous);
      previous = index;
    }
    await untilNothingLeft(groups, ports, 30_000, 'every process of npm start gone and its ports free');
    expect(run.output()).not.toMatch(/already exists/);
  }, 840_000);

  it('starts again on the same data without warnings about search attributes, limits keyed requests only, and leaves nothing behind when killed with SIGKILL', async () => {
    // A first start that failed before its Ctrl-C still holds the data and the ports: not this test's failure.
    if (previous && previous.child.exitCode === null && previous.child.signalCode === null) {
      process.kill(-(previous.child.pid as number), 'SIGKILL');
      await previous.exited;
      await waitFor(() => nothingLeft(groupsOf(previous?.stdout() ?? ''), ports), 60_000, 'the first start gone');
    }
    const run = started(SMALL_RATE_LIMIT);
    await waitForReady(run);
    expect(run.output()).not.toMatch(/already exists/);
    // The demo key of the first start, kept: printed again, not replaced.
    const demoKey = (await readFile(path.join(dataDir, 'demo-api-key'), 'utf8')).trim();
    expect(run.stdout()).toContain(`Demo API key:    ${demoKey}  (kept in`);
    // Nothing of the first run throttles the demo's requests without a key, six times the limit.
    const api = `http://127.0.0.1:${ports.PORT}`;
    expect(run.stdout()).toContain('with a key 5 requests a minute per account\n');
    await allCreatedWithoutKey(api, 30);
    // A request with a key is limited as documented: a new account's key (the demo account's
    // counters may hold points a process of the first start leased), 5 a minute, then 429.
    const key = await createKey(`postgresql://postgres:postgres@127.0.0.1:${ports.POSTGRES_PORT}/orders`, 'launcher-limit');
    const keyed: number[] = [];
    for (let i = 0; i < 7; i++) keyed.push((await request(`${api}/orders`, { headers: bearer(key.api_key) })).status);
    expect(keyed).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const groups = groupsOf(run.stdout());
    // PostgreSQL, Temporal, the venue, the ingestion process, the worker, the API.
    expect(groups.size).toBe(6);

    // No chance to stop anything: every child must notice by itself that the launcher is gone.
    process.kill(-(run.child.pid as number), 'SIGKILL');
    await run.exited;
    // Each child notices the launcher's end through its lifeline and stops by itself (PostgreSQL
    // with a shutdown checkpoint): on a busy machine that took over a minute once.
    await untilNothingLeft(groups, ports, 150_000, 'every process of npm start gone and its ports free after SIGKILL');
  }, 420_000);
});
