import { beforeAll, describe, expect, it } from 'vitest';
import { POSITION_EXAMPLES } from '../../api/openapi-examples.js';
import { positionBody } from '../../api/position-response.js';
import { applyFill, FLAT, type Position, type PositionFill } from '../../domain/positions.js';
import { AccountsRepository, type CreatedApiKey } from '../../prisma/accounts-repository.js';
import { createPrismaClient } from '../../prisma/client.js';
import { testConfig } from '../support/config.js';
import { postJson, request } from '../support/http.js';
import { reachedExchange, uniqueInstrument } from '../support/orders.js';
import { openEventStream } from '../support/sse.js';
import { useStack } from '../support/stack.js';
import { venueControl } from '../support/venue.js';
import { waitFor } from '../support/wait.js';

// GET /positions through the real API, worker, venue and ingestion: fills and a bust scripted on
// the venue's control port, the position read back equals the fold of the stored executions
// (domain/positions.ts), exactly; another account sees none of it.
const stack = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0' });

let mine: CreatedApiKey;
let theirs: CreatedApiKey;
const bearer = (created: CreatedApiKey) => ({ Authorization: `Bearer ${created.apiKey}` });

beforeAll(async () => {
  const config = testConfig();
  const db = createPrismaClient({ url: config.DATABASE_URL, poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
  try {
    const accounts = new AccountsRepository(db);
    const suffix = Math.random().toString(36).slice(2, 10);
    mine = await accounts.createKey(`positions-${suffix}`);
    theirs = await accounts.createKey(`positions-other-${suffix}`);
  } finally {
    await db.$disconnect();
  }
});

/** A limit order that rests at the venue (far from any price), good till cancelled: filled only by hand. */
async function restingOrder(instrument: string, side: 'buy' | 'sell', quantity: number): Promise<string> {
  const created = await postJson(
    `${stack.api.url}/orders`,
    { type: 'limit', side, instrument, limit_price: side === 'buy' ? '0.01' : '999999.99', quantity, time_in_force: 'gtc' },
    bearer(mine),
  );
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await waitFor(
    async () => {
      const order = await request(`${stack.api.url}/orders/${id}`, { headers: bearer(mine) });
      return reachedExchange(order.body.status as string) || undefined;
    },
    90_000,
    `order ${id} at the venue`,
  );
  return id;
}

/** Waits until the order's filled quantity, as ingested, is `filled`. */
async function ingested(id: string, filled: number): Promise<void> {
  await waitFor(
    async () => {
      const order = await request(`${stack.api.url}/orders/${id}`, { headers: bearer(mine) });
      return order.body.filled_quantity === filled || undefined;
    },
    60_000,
    `order ${id} filled ${filled}`,
  );
}

interface StoredExecution {
  exec_id: string;
  exec_type: string;
  quantity: number;
  price: number;
  ref_exec_id: string | null;
  venue_time: string;
}

async function executionsOf(id: string): Promise<StoredExecution[]> {
  const page = await request(`${stack.api.url}/orders/${id}/executions?limit=500`, { headers: bearer(mine) });
  expect(page.status).toBe(200);
  return page.body.data as StoredExecution[];
}

describe('GET /positions', () => {
  it('is the exact fold of the standing executions, busts included; other accounts see nothing; 404 and 422 where due', {
    timeout: 240_000,
  }, async () => {
    const instrument = uniqueInstrument('PS');
    // The account's live events from now on: each fill's carries the position after it.
    const stream = await openEventStream(`${stack.api.url}/events`, bearer(mine));
    const buyId = await restingOrder(instrument, 'buy', 100);
    const sellId = await restingOrder(instrument, 'sell', 100);
    // In this order, each ingested before the next, so executions order is this order.
    const script: { id: string; side: 'buy' | 'sell'; qty: number; px: string }[] = [
      { id: buyId, side: 'buy', qty: 30, px: '10.1234' },
      { id: buyId, side: 'buy', qty: 20, px: '10.3333' },
      { id: sellId, side: 'sell', qty: 70, px: '11.0001' }, // long 50 -> short 20, at its price
      { id: buyId, side: 'buy', qty: 7, px: '9.9999' }, // reduces the short
    ];
    const filled = new Map<string, number>();
    const fills: (PositionFill & { execId: string })[] = [];
    for (const step of script) {
      const report = (await venueControl('/control/fill', { order_id: step.id, qty: step.qty, px: step.px })) as { exec_id: string };
      filled.set(step.id, (filled.get(step.id) ?? 0) + step.qty);
      await ingested(step.id, filled.get(step.id)!);
      fills.push({ execId: report.exec_id, side: step.side, quantity: step.qty, price: step.px, at: '' });
    }
    const expectedOf = (standing: typeof fills, updatedAt: string): Position => ({
      ...standing.reduce<Position>(applyFill, FLAT),
      updatedAt,
    });
    const read = async () => {
      const answer = await request(`${stack.api.url}/positions/${instrument}`, { headers: bearer(mine) });
      expect(answer.status).toBe(200);
      return answer.body;
    };
    const executions = [...(await executionsOf(buyId)), ...(await executionsOf(sellId))];
    const latest = executions
      .map((e) => e.venue_time)
      .sort()
      .at(-1)!;
    const before = await read();
    expect(before).toEqual(positionBody(instrument, expectedOf(fills, latest)));
    // The quantity is the sum of the executions, buys adding and sells subtracting.
    const signed = (e: StoredExecution, id: string) => (id === buyId ? e.quantity : -e.quantity);
    const sum = async () =>
      (await executionsOf(buyId)).reduce((total, e) => total + (e.exec_type === 'trade_bust' ? -1 : 1) * signed(e, buyId), 0) +
      (await executionsOf(sellId)).reduce((total, e) => total + (e.exec_type === 'trade_bust' ? -1 : 1) * signed(e, sellId), 0);
    expect(before.quantity).toBe(await sum());
    expect(before).toMatchObject({ quantity: -13, average_entry_price: '11.000100', cost_basis: '-143.001300' });

    // A bust of the first fill: the average of what followed changes, so the position is folded again.
    const bust = (await venueControl('/control/bust', { exec_id: fills[0]!.execId })) as { transact_time: string };
    await ingested(buyId, filled.get(buyId)! - 30);
    const after = await read();
    expect(after).toEqual(positionBody(instrument, expectedOf(fills.slice(1), bust.transact_time)));
    expect(after.quantity).toBe(await sum());
    expect(after.quantity).toBe(-43);
    // The documented example of a short (api/openapi-examples.ts) has the live answer's keys and types.
    const shape = (value: object) =>
      Object.fromEntries(Object.entries(value).map(([key, field]) => [key, field === null ? 'null' : typeof field]));
    expect(shape(after)).toEqual(shape(POSITION_EXAMPLES.short.value));

    const listed = await request(`${stack.api.url}/positions`, { headers: bearer(mine) });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([after]);

    // The other account: none of it.
    expect((await request(`${stack.api.url}/positions`, { headers: bearer(theirs) })).body).toEqual({ data: [] });
    const foreign = await request(`${stack.api.url}/positions/${instrument}`, { headers: bearer(theirs) });
    expect(foreign.status).toBe(404);
    // An instrument never traded: 404; one that breaks the instrument rules: 422 naming it.
    expect((await request(`${stack.api.url}/positions/${uniqueInstrument('NO')}`, { headers: bearer(mine) })).status).toBe(404);
    const bad = await request(`${stack.api.url}/positions/TOO-SHORT`, { headers: bearer(mine) });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(['path', 'instrument']);
    const control = await request(`${stack.api.url}/positions/ABCDEFGHIJK%01`, { headers: bearer(mine) });
    expect(control.status).toBe(422);
    expect(control.body.detail[0].loc).toEqual(['path', 'instrument']);
    const extra = await request(`${stack.api.url}/positions?instrument=${instrument}`, { headers: bearer(mine) });
    expect(extra.status).toBe(422);
    expect(extra.body.detail[0].loc).toEqual(['query', 'instrument']);

    // Every fill event on the stream carries the position after it (a bust's too): the last one, this one.
    const fillEvents = () => stream.events.filter((event) => event.event === 'fill');
    try {
      await stream.until(() => fillEvents().length >= 5, 'the five fill events');
      expect(stream.problems).toEqual([]);
      expect(fillEvents().map((event) => event.data.position.quantity)).toEqual([30, 50, -20, -13, -43]);
      expect(fillEvents()[2]!.data.position).toMatchObject({ instrument, average_entry_price: '11.000100', cost_basis: '-220.002000' });
      expect(fillEvents().at(-1)!.data.position).toEqual(after);
    } finally {
      stream.close();
    }
  });
});
