import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import getPort from 'get-port';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { sweeperWorkflowId } from '../../worker/sweeper.js';
import { BUSY_MACHINE_SETTINGS } from '../support/config.js';
import { createDatabase } from '../support/ingest-stack.js';
import { type NpmScriptProcess, runNpmScript, startNpmScript } from '../support/processes.js';
import { runSmoke } from '../support/smoke.js';

// The smoke script CI's container job runs against the Compose stack (scripts/smoke.mjs), here
// against the production entry points started as an operator starts them, each a process of its
// own through its npm script: `npm run migrate`, then `npm run venue`, `npm run ingest`,
// `npm run worker`, `npm run api`, on settings at their defaults (AUTH_REQUIRED unset: keys
// required; the venue in its default, random, mode, where a market order fills) but for ports,
// the database (one of this file's own, on the suite's PostgreSQL), the suite's Temporal and a
// task queue of this file's own. The script makes its key with `npm run keys`.
// Its run against `npm start`: test/system/start-launcher.test.ts.
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe('scripts/smoke.mjs', () => {
  it('passes against the production entry points, each started by its npm script', async () => {
    const databaseUrl = await createDatabase('smoke', { migrate: false });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'smoke-'));
    await chmod(dataDir, 0o755);
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const [port, managementPort, venuePort, venueControlPort] = [await getPort(), await getPort(), await getPort(), await getPort()];
    const taskQueue = `orders-smoke-${randomBytes(4).toString('hex')}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      VENUE_ADDRESS: `127.0.0.1:${venuePort}`,
    };
    // The production default (true) is what this test is about; NODE_ENV=test is vitest's, not an operator's.
    delete env.AUTH_REQUIRED;
    delete env.NODE_ENV;

    const migrate = await runNpmScript('migrate', [], env, 180_000);
    expect(migrate.code, `${migrate.stdout}\n${migrate.stderr}`).toBe(0);

    const started: NpmScriptProcess[] = [];
    const start = (script: string, own: Record<string, string>) => {
      const service = startNpmScript(script, { ...env, ...own });
      started.push(service);
      cleanups.push(() => service.stop());
      return service;
    };
    const venue = start('venue', {
      VENUE_HOST: '127.0.0.1',
      VENUE_PORT: String(venuePort),
      VENUE_CONTROL_PORT: String(venueControlPort),
      VENUE_DATA_DIR: dataDir,
    });
    await venue.ready((output) => output.includes('"msg":"venue started"'), 'venue started');
    const ingest = start('ingest', { HOST: '127.0.0.1' });
    const worker = start('worker', {});
    const api = start('api', {
      ...BUSY_MACHINE_SETTINGS,
      PORT: String(port),
      HOST: '127.0.0.1',
      MANAGEMENT_PORT: String(managementPort),
      MANAGEMENT_HOST: '127.0.0.1',
    });
    const apiUrl = `http://127.0.0.1:${port}`;
    cleanups.push(async () => {
      // The sweeper the worker started on this file's task queue: no sweep after the file.
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      await new Client({ connection }).workflow
        .getHandle(sweeperWorkflowId(taskQueue))
        .terminate('test over')
        .catch(() => {});
      await connection.close();
    });
    await Promise.all([
      ingest.ready((output) => output.includes('"msg":"holding the venue session"'), 'holding the venue session'),
      worker.ready((output) => output.includes('worker started'), 'worker started'),
      api.ready(async () => (await fetch(`${apiUrl}/health/ready`).catch(() => undefined))?.status === 200, 'GET /health/ready 200'),
    ]);

    // Keys are required: the plain POST of the old container job is refused.
    const keyless = await fetch(`${apiUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'market', side: 'buy', instrument: 'US0378331005', quantity: 1 }),
    });
    expect(keyless.status).toBe(401);

    const smoke = await runSmoke(apiUrl, `http://127.0.0.1:${managementPort}`, env);
    const services = started.map((service) => `--- npm run ${service.script}:\n${service.output().slice(-4000)}`).join('\n');
    expect(smoke.code, `${smoke.stdout}\n${smoke.stderr}\n${services}`).toBe(0);
    expect(smoke.stdout).toContain('smoke: API key: made with `npm run --silent keys -- create --account smoke-');
    expect(smoke.stdout).toContain('smoke: passed');
  }, 900_000);
});
