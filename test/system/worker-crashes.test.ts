import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { readLedger } from '../../exchange/exchange-ledger.js';
import { testConfig } from '../support/config.js';
import { postJson } from '../support/http.js';
import { REACHED_EXCHANGE_SQL } from '../support/orders.js';
import { type ServiceProcess, startService } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

// Real worker processes killed with SIGKILL while orders flow in, the exchange at its default
// 10% failure rate and 0.5 s latency. The first worker kills itself right after the exchange
// recorded its 20th acceptance and before the activity could report it: the ambiguous case in
// which a naive retry would place the order twice.
const ORDERS = 200;
const CONCURRENCY = 20;
const INSTRUMENT = 'CRASHTEST001';
const config = testConfig();
const workerEnv = {
  DATABASE_URL: config.DATABASE_URL,
  TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
  TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
};

let api: ApiServer;
let db: pg.Client;
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  api = await startApiServer(config, createLogger('api', 'silent'));
  db = new pg.Client({ connectionString: config.DATABASE_URL });
  await db.connect();
});

afterAll(async () => {
  for (const worker of workers) await worker.kill();
  await api?.close();
  await db?.end();
});

async function placedCount(ids: string[]): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status IN ${REACHED_EXCHANGE_SQL}`,
    [ids],
  );
  return rows[0].n as number;
}

async function postOrders(count: number, ids: string[], statuses: number[]): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < count) {
      next += 1;
      const response = await postJson(`${api.url}/orders`, { type: 'market', side: 'buy', instrument: INSTRUMENT, quantity: next });
      statuses.push(response.status);
      if (response.status === 201) ids.push(response.body.id as string);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
}

describe('worker processes killed with SIGKILL during placement', () => {
  it('places every accepted order exactly once', { timeout: 300_000 }, async () => {
    const ids: string[] = [];
    const statuses: number[] = [];

    const first = await startService('worker', { ...workerEnv, EXCHANGE_TEST_CRASH_AFTER_ACCEPTS: '20' });
    workers.push(first);
    const posting = postOrders(ORDERS, ids, statuses);

    // Kill 1: the worker dies by itself between the exchange's acceptance and the activity's end.
    await first.exited();
    expect(first.child.signalCode).toBe('SIGKILL');
    const ledgerAfterCrash = (await readLedger(config.DATABASE_URL)).filter((e) => ids.includes(e.orderId));
    expect(ledgerAfterCrash.length).toBeGreaterThanOrEqual(20);

    // Kills 2 and 3: plain SIGKILLs while placement is under way.
    for (const threshold of [60, 120]) {
      const worker = await startService('worker', workerEnv);
      workers.push(worker);
      await waitFor(async () => ((await placedCount(ids)) >= threshold ? true : undefined), 120_000, `${threshold} orders placed`);
      await worker.kill('SIGKILL');
    }

    workers.push(await startService('worker', workerEnv));
    await posting;
    expect(statuses).toHaveLength(ORDERS);
    expect(statuses.every((status) => status === 201)).toBe(true);
    expect(ids).toHaveLength(ORDERS);

    await waitFor(async () => ((await placedCount(ids)) === ORDERS ? true : undefined), 180_000, 'every order placed');

    const ledger = (await readLedger(config.DATABASE_URL)).filter((entry) => ids.includes(entry.orderId));
    // Each accepted order is in the exchange's record once (its primary key is the order id)...
    expect(ledger).toHaveLength(ORDERS);
    expect(new Set(ledger.map((entry) => entry.orderId)).size).toBe(ORDERS);
    // ...including the orders the venue had accepted when the first worker died: their workflow
    // task was lost with it (local attempts are recorded only when it completes), so the next
    // worker ran it again. Its claim then either found the order already at the venue (the
    // venue's report, taken by the ingestion process, moved it on) and did not call again, or
    // sent it again and the venue refused the duplicate (duplicateSubmissions): placed once
    // either way, which the two checks above count.
    // Nothing else with this test's instrument reached the exchange.
    const { rows } = await db.query("SELECT count(*)::int AS n FROM exchange_sim.accepted_orders WHERE ticket->>'instrument' = $1", [
      INSTRUMENT,
    ]);
    expect(rows[0].n).toBe(ORDERS);
  });
});
