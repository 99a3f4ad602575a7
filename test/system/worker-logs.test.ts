import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { testConfig } from '../support/config.js';
import { postJson, request } from '../support/http.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

// What an operator reads in a real worker process's log (LOG_LEVEL=info): one INFO line per
// order placed or cancelled, with its lag; one WARN line per failed exchange attempt, with the
// order, the attempt and the reason, and no task token or stack; no bundler statistics.
type Line = Record<string, unknown>;
const config = testConfig();
let api: ApiServer;
const workers: ServiceProcess[] = [];

function workerEnv(failureRate: string): Record<string, string> {
  return {
    DATABASE_URL: config.DATABASE_URL,
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
    EXCHANGE_LATENCY_MS: '20',
    EXCHANGE_FAILURE_RATE: failureRate,
  };
}

function jsonLines(output: string): Line[] {
  return output
    .split('\n')
    .filter((text) => text.startsWith('{'))
    .map((text) => JSON.parse(text) as Line);
}

beforeAll(async () => {
  api = await startApiServer(config, createLogger('api', 'silent'));
});

afterAll(async () => {
  await api?.close();
  for (const worker of workers) await worker.kill('SIGTERM').catch(() => {});
});

async function statusOf(id: string): Promise<string> {
  return (await request(`${api.url}/orders/${id}`)).body.status as string;
}

describe('the worker log', () => {
  it('says what happened to each order in one line, and each failed exchange attempt in one WARN line', { timeout: 240_000 }, async () => {
    // An exchange that is down: the order's attempts fail until its cancel wins.
    const down = await startService('worker', workerEnv('1'));
    workers.push(down);
    const held = await postJson(`${api.url}/orders`, { type: 'market', side: 'sell', instrument: 'LOGSTEST0001', quantity: 3 });
    expect(held.status).toBe(201);
    const heldId = held.body.id as string;
    const failedAttempts = () => jsonLines(down.output()).filter((line) => line.msg === 'exchange attempt failed');
    await waitFor(async () => (failedAttempts().length >= 2 ? true : undefined), 60_000, 'two failed attempts logged');
    expect([200, 202]).toContain((await request(`${api.url}/orders/${heldId}`, { method: 'DELETE' })).status);
    await waitFor(async () => ((await statusOf(heldId)) === 'cancelled' ? true : undefined), 60_000, 'the order cancelled');
    await waitFor(
      async () => (jsonLines(down.output()).some((line) => line.msg === 'order cancelled') ? true : undefined),
      10_000,
      'the cancelled line',
    );
    await down.kill('SIGTERM');

    // The exchange is back: orders are placed.
    const up = await startService('worker', workerEnv('0'));
    workers.push(up);
    const ids: string[] = [];
    for (let quantity = 1; quantity <= 3; quantity += 1) {
      const created = await postJson(`${api.url}/orders`, { type: 'market', side: 'buy', instrument: 'LOGSTEST0001', quantity });
      expect(created.status).toBe(201);
      ids.push(created.body.id as string);
    }
    await waitFor(
      async () => (jsonLines(up.output()).filter((line) => line.msg === 'order placed').length === ids.length ? true : undefined),
      60_000,
      'a placed line per order',
    );

    const downLines = jsonLines(down.output());
    const upLines = jsonLines(up.output());
    const all = [...downLines, ...upLines];
    for (const line of all) {
      expect(line.level).toMatch(/^(trace|debug|info|warn|error|fatal)$/);
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
    }

    const attempts = failedAttempts();
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    // The first attempt is the local one inside the workflow task (the three steps' one local
    // attempt, claimPlaceAndRecord); then the scheduled activity's, from 1.
    attempts.forEach((line, i) => {
      expect(line).toMatchObject({
        level: 'warn',
        orderId: heldId,
        attempt: i === 0 ? 1 : i,
        isLocal: i === 0,
        reason: 'OrderPlacementError',
        activityType: i === 0 ? 'claimPlaceAndRecord' : 'placeAtExchange',
      });
      expect(line).not.toHaveProperty('err');
    });
    // Nothing else at WARN about those attempts, and no task token anywhere. (Other WARN lines
    // of the worker, such as the stale-order sweep's, are not about the attempts.)
    const aboutAttempts = (line: Record<string, unknown>) =>
      line.orderId === heldId || line.activityType === 'placeAtExchange' || line.activityType === 'claimPlaceAndRecord';
    expect(downLines.filter((line) => line.level === 'warn' && aboutAttempts(line) && line.msg !== 'exchange attempt failed')).toEqual([]);
    expect(down.output() + up.output()).not.toContain('taskToken');
    // The bundler's statistics are not at info.
    expect(all.filter((line) => line.level === 'info' && /webpack|bundle created/i.test(String(line.msg)))).toEqual([]);

    const [cancelled, ...others] = downLines.filter((line) => line.msg === 'order cancelled');
    expect(others).toEqual([]);
    expect(cancelled).toMatchObject({ level: 'info', orderId: heldId, status: 'cancelled', lagMs: expect.any(Number) });
    expect(cancelled!.lagMs as number).toBeGreaterThan(0);
    const placed = upLines.filter((line) => line.msg === 'order placed');
    expect(placed.map((line) => line.orderId).sort()).toEqual([...ids].sort());
    for (const line of placed) {
      expect(line).toMatchObject({ level: 'info', status: 'placed' });
      expect(line.lagMs as number).toBeGreaterThanOrEqual(0);
    }
  });
});
