import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiServer } from '../../api/server.js';
import { testConfig } from '../support/config.js';
import { request } from '../support/http.js';
import { apiStarter } from '../support/stack.js';

// GET /orders/{id}/executions against a real API and PostgreSQL: the executions are written as
// the ingestion process writes them (rows of `executions`), the answer read back page by page.

const config = testConfig();
const cleanups: (() => Promise<void>)[] = [];
const startApi = apiStarter((close) => cleanups.push(close));
let api: ApiServer;
let db: pg.Client;

beforeAll(async () => {
  db = new pg.Client({ connectionString: config.DATABASE_URL });
  await db.connect();
  api = await startApi();
});

afterAll(async () => {
  for (const close of cleanups.reverse()) await close();
  await db?.end();
});

async function orderWithExecutions(count: number): Promise<{ id: string; execIds: string[] }> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO orders (type, side, instrument, limit_price, quantity, status) VALUES ('limit', 'buy', 'EXECUTIONS01', 10.25, $1, 'placed') RETURNING id`,
    [count * 10],
  );
  const id = rows[0]!.id;
  const execIds = Array.from({ length: count }, (_, i) => `E-${id.slice(0, 8)}-${i + 1}`);
  for (const [i, execId] of execIds.entries()) {
    const cum = (i + 1) * 10;
    await db.query(
      `INSERT INTO executions (venue, exec_id, order_id, seq, exec_type, order_status, last_qty, last_px, cum_qty, leaves_qty, avg_px, venue_time)
       VALUES ('SIMX', $1, $2, $3, $4, $5, 10, $6, $7, $8, $9, now())`,
      [
        execId,
        id,
        1000 + i,
        i === count - 1 ? 'fill' : 'partial_fill',
        i === count - 1 ? 'filled' : 'partially_filled',
        `10.${String(i % 100).padStart(2, '0')}01`,
        cum,
        count * 10 - cum,
        '10.123457',
      ],
    );
  }
  return { id, execIds };
}

describe('GET /orders/{id}/executions', () => {
  it('lists the executions in the order the venue sent them, page by page, with exact prices', async () => {
    const { id, execIds } = await orderWithExecutions(7);
    const seen: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await request(`${api.url}/orders/${id}/executions?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.data as Record<string, unknown>[]));
      cursor = page.body.next as string | null;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((e) => e.exec_id)).toEqual(execIds);
    expect(seen[0]).toMatchObject({ exec_type: 'partial_fill', quantity: 10, price: 10.0001, cum_quantity: 10, leaves_quantity: 60 });
    expect(seen.at(-1)).toMatchObject({
      exec_type: 'fill',
      order_status: 'filled',
      cum_quantity: 70,
      leaves_quantity: 0,
      average_price: 10.123457,
    });
    // The price's text is the stored decimal, exactly.
    const raw = await fetch(`${api.url}/orders/${id}/executions?limit=1`).then((r) => r.text());
    expect(raw).toContain('"price":10.0001');
    expect(raw).toContain('"average_price":10.123457');
  });

  it('answers an empty page for an order without executions, 404 for an unknown order, 422 for a bad id', async () => {
    const { id } = await orderWithExecutions(0);
    expect((await request(`${api.url}/orders/${id}/executions`)).body).toEqual({ data: [], next: null });
    const unknown = await request(`${api.url}/orders/${randomUUID()}/executions`);
    expect(unknown.status).toBe(404);
    expect((await request(`${api.url}/orders/not-a-uuid/executions`)).status).toBe(422);
  });

  it("refuses a cursor that was altered or belongs to another order's list, and bad parameters, naming them", async () => {
    const first = await orderWithExecutions(3);
    const other = await orderWithExecutions(3);
    const page = await request(`${api.url}/orders/${first.id}/executions?limit=1`);
    const cursor = page.body.next as string;
    expect(cursor).toEqual(expect.any(String));
    const foreign = await request(`${api.url}/orders/${other.id}/executions?cursor=${cursor}`);
    expect(foreign.status).toBe(422);
    expect(foreign.body.detail[0].loc).toEqual(['query', 'cursor']);
    const forged = Buffer.from(JSON.stringify([1, '1', 'A'.repeat(22)])).toString('base64url');
    expect((await request(`${api.url}/orders/${first.id}/executions?cursor=${forged}`)).status).toBe(422);
    const bad = await request(`${api.url}/orders/${first.id}/executions?limit=0&colour=red`);
    expect(bad.status).toBe(422);
    expect((bad.body.detail as { loc: string[] }[]).map((d) => d.loc[1]).sort()).toEqual(['colour', 'limit']);
  });
});
