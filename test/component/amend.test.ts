import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../api/openapi.js';
import { SYSTEM_ACTOR } from '../../domain/accounts.js';
import { AccountsRepository } from '../../prisma/accounts-repository.js';
import { createPrismaClient } from '../../prisma/client.js';
import { testConfig } from '../support/config.js';
import { type JsonResponse, postJson, request } from '../support/http.js';
import { reachedExchange, uniqueInstrument } from '../support/orders.js';
import { useStack } from '../support/stack.js';
import { venueControl, venueViewOf } from '../support/venue.js';
import { waitFor } from '../support/wait.js';

// PATCH /orders/{id} (issue #26) through the real API, worker, venue and ingestion: the order's
// workflow decides the amend, the venue replaces the working order against its book, the
// ingestion applies the venue's `replaced` report (quantity, limit, time in force, an event of
// the order's history) in the same transaction as fills. Then amends racing fills at random
// moments: every order ends with the venue's view = the service's, no fill lost, each amend
// answered 200, 409 or 202 and the history saying which won. A held stop's stop price amended
// (the stop then triggers at the new price, not the old; after its trigger 409 already_triggered),
// and a time in force amend's expiry in the service's row (the venue's, from its replaced report).
const stack = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0' });

interface VenueOrderView {
  status: string;
  cum_qty: number;
  order: { quantity: number; limit_price: string | null; time_in_force: string } | null;
  executions: { exec_id: string; exec_type: string; last_qty: number }[];
}

const patch = (id: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> =>
  request(`${stack.api.url}/orders/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A resting buy (far below any price), placed at the venue: the control port fills it. */
async function restingOrder(instrument: string, quantity: number): Promise<string> {
  const created = await postJson(`${stack.api.url}/orders`, {
    type: 'limit',
    side: 'buy',
    instrument,
    limit_price: '0.01',
    quantity,
    time_in_force: 'gtc',
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await waitFor(async () => (reachedExchange((await request(`${stack.api.url}/orders/${id}`)).body.status) ? true : undefined), 60_000);
  return id;
}

/** A buy stop far above any price (the venue holds it), placed at the venue. */
async function heldStop(instrument: string): Promise<string> {
  const created = await postJson(`${stack.api.url}/orders`, {
    type: 'stop',
    side: 'buy',
    instrument,
    stop_price: '99999.00',
    quantity: 10,
    time_in_force: 'gtc',
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await waitFor(async () => (reachedExchange((await request(`${stack.api.url}/orders/${id}`)).body.status) ? true : undefined), 60_000);
  return id;
}

const venueView = (id: string) => venueViewOf(id) as unknown as Promise<VenueOrderView>;
const amendEvents = (order: { events: { reason: string | null; actor: string }[] }) =>
  order.events.filter((event) => event.reason?.startsWith('amended:'));

describe('PATCH /orders/{id}', () => {
  it('amends a working limit order at the venue: 200 as amended, the service then shows it, fills before and after count', {
    timeout: 120_000,
  }, async () => {
    const id = await restingOrder(uniqueInstrument('AM'), 100);
    await venueControl('/control/fill', { order_id: id, qty: 30, px: '0.0100' });

    const amended = await patch(id, { quantity: 150, limit_price: '0.02', time_in_force: 'day' });
    expect(amended.status).toBe(200);
    expect(amended.body).toMatchObject({ id, quantity: 150, limit_price: 0.02, time_in_force: 'day' });

    const venue = await venueView(id);
    expect(venue.order).toMatchObject({ quantity: 150, time_in_force: 'day' });
    expect(Number(venue.order?.limit_price)).toBe(0.02);
    expect(venue.executions.map((e) => e.exec_type)).toContain('replaced');

    // The ingestion applied the venue's report: the service's view is the venue's, the history says so.
    const stored = await waitFor(async () => {
      const current = await request(`${stack.api.url}/orders/${id}`);
      return current.body.quantity === 150 && amendEvents(current.body).length === 1 ? current.body : undefined;
    }, 30_000);
    expect(stored).toMatchObject({ limit_price: 0.02, time_in_force: 'day', filled_quantity: 30, status: 'partially_filled' });
    expect(amendEvents(stored)[0]?.reason).toBe('amended: quantity 100 -> 150, limit_price 0.01 -> 0.02, time_in_force gtc -> day');

    // Fills after the amend count against the new quantity: 120 more fill it.
    await venueControl('/control/fill', { order_id: id, qty: 120, px: '0.0100' });
    const filled = await waitFor(async () => {
      const current = await request(`${stack.api.url}/orders/${id}`);
      return current.body.status === 'filled' ? current.body : undefined;
    }, 30_000);
    expect(filled.filled_quantity).toBe(150);

    // Final now: 409 naming why.
    const late = await patch(id, { quantity: 200 });
    expect(late.status).toBe(409);
    expect(late.body.reason).toBe('final');
  });

  it('refuses a new quantity not above what is filled (409, the order unchanged), and bad input with 422 naming the field', {
    timeout: 120_000,
  }, async () => {
    const id = await restingOrder(uniqueInstrument('AN'), 100);
    await venueControl('/control/fill', { order_id: id, qty: 40, px: '0.0100' });
    await waitFor(async () => ((await request(`${stack.api.url}/orders/${id}`)).body.filled_quantity === 40 ? true : undefined));

    const lost = await patch(id, { quantity: 40 });
    expect(lost.status).toBe(409);
    expect(lost.body.reason).toBe('quantity_not_above_filled');
    expect((await venueView(id)).order?.quantity).toBe(100);

    for (const [body, field] of [
      [{}, undefined],
      [{ quantity: 0 }, 'quantity'],
      [{ quantity: 1.5 }, 'quantity'],
      [{ limit_price: '0.001' }, 'limit_price'],
      [{ time_in_force: 'week' }, 'time_in_force'],
      [{ side: 'sell' }, 'side'],
    ] as const) {
      const answer = await patch(id, body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      expect(answer.body.detail[0].loc).toEqual(field === undefined ? ['body'] : ['body', field]);
    }
    expect((await request(`${stack.api.url}/orders/${id}`)).body.quantity).toBe(100);
  });

  it('Idempotency-Key: the same amend again answers the first 200 (replayed); another body with the key 422', {
    timeout: 120_000,
  }, async () => {
    const id = await restingOrder(uniqueInstrument('AK'), 50);
    const key = `amend-${id}`;
    const first = await patch(id, { quantity: 60 }, { 'Idempotency-Key': key });
    expect(first.status).toBe(200);
    const again = await patch(id, { quantity: 60 }, { 'Idempotency-Key': key });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect((await patch(id, { quantity: 70 }, { 'Idempotency-Key': key })).status).toBe(422);
    const venue = await venueView(id);
    expect(venue.executions.filter((e) => e.exec_type === 'replaced')).toHaveLength(1);
  });
});

describe('the documented PATCH examples', () => {
  it('each is answered 200 by the live API on a working order of a type it fits, the order as amended', {
    timeout: 180_000,
  }, async () => {
    const examples = buildOpenApiDocument().paths['/orders/{id}']?.patch?.requestBody?.content['application/json']?.examples ?? {};
    expect(Object.keys(examples).length).toBeGreaterThan(0);
    for (const [name, example] of Object.entries(examples)) {
      const body = example.value as Record<string, unknown>;
      const id = body.stop_price === undefined ? await restingOrder(uniqueInstrument('AX'), 100) : await heldStop(uniqueInstrument('AX'));
      const answer = await patch(id, body);
      expect(answer.status, `${name}: ${answer.text}`).toBe(200);
      for (const [field, value] of Object.entries(body))
        expect(String(answer.body[field]), `${name}: ${field}`).toBe(String(Number(value) || value));
    }
  });
});

describe('the amend in the order’s history', () => {
  it('names the key that asked as its actor (another key of the account than the one that placed it)', { timeout: 120_000 }, async () => {
    const config = testConfig();
    const db = createPrismaClient({ url: config.DATABASE_URL, poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
    const accounts = new AccountsRepository(db);
    const account = `amend-${Math.random().toString(36).slice(2, 10)}`;
    const placer = await accounts.createKey(account);
    const amender = await accounts.createKey(account);
    await db.$disconnect();
    const auth = (key: { apiKey: string }) => ({ Authorization: `Bearer ${key.apiKey}` });
    const created = await postJson(
      `${stack.api.url}/orders`,
      { type: 'limit', side: 'buy', instrument: uniqueInstrument('AA'), limit_price: '0.01', quantity: 10, time_in_force: 'gtc' },
      auth(placer),
    );
    const id = created.body.id as string;
    await waitFor(async () =>
      reachedExchange((await request(`${stack.api.url}/orders/${id}`, { headers: auth(placer) })).body.status) ? true : undefined,
    );
    const amended = await patch(id, { quantity: 12 }, auth(amender));
    expect(amended.status).toBe(200);
    const event = await waitFor(
      async () => amendEvents((await request(`${stack.api.url}/orders/${id}`, { headers: auth(placer) })).body)[0],
    );
    expect(event).toMatchObject({ reason: 'amended: quantity 10 -> 12', actor: amender.keyId });
  });
});

describe('amends racing fills', () => {
  const ORDERS = 16;
  const QUANTITY = 100;
  const FILL = 10;

  /** Fills at random moments until told to stop or the order ends; a fill the venue refuses as too much takes the leaves. */
  async function fillUntilDone(orderId: string, stop: () => boolean): Promise<void> {
    while (!stop()) {
      await sleep(10 + Math.random() * 80);
      try {
        await venueControl('/control/fill', { order_id: orderId, qty: FILL, px: '0.0100' });
      } catch {
        const view = await venueView(orderId);
        if (!['new', 'partially_filled'].includes(view.status) || view.order === null) return;
        const leaves = view.order.quantity - view.cum_qty;
        if (leaves > 0) await venueControl('/control/fill', { order_id: orderId, qty: leaves, px: '0.0100' }).catch(() => {});
      }
    }
  }

  it('every order ends with the venue’s quantity, filled and status; no fill lost; each amend 200, 409 or 202 and the history says which won', {
    timeout: 300_000,
  }, async () => {
    const instrument = uniqueInstrument('AR');
    const ids = await Promise.all(Array.from({ length: ORDERS }, () => restingOrder(instrument, QUANTITY)));

    const results = await Promise.all(
      ids.map(async (id) => {
        let stop = false;
        const filling = fillUntilDone(id, () => stop);
        await sleep(Math.random() * 600);
        // Down towards or below what may be filled by now, or up: either may lose to the fills.
        // Never the quantity it has: that amend changes nothing, and the venue reports nothing for it.
        const drawn = 20 + Math.floor(Math.random() * 119);
        const quantity = drawn >= QUANTITY ? drawn + 1 : drawn;
        const amend = await patch(id, { quantity });
        await sleep(Math.random() * 300);
        stop = true;
        await filling;
        // Whatever still works ends by a cancel, so that every order has a final status to compare.
        await request(`${stack.api.url}/orders/${id}`, { method: 'DELETE' });
        return { id, quantity, amend };
      }),
    );

    const outcomes = { amended: 0, refused: 0, undecided: 0 };
    for (const { id, quantity, amend } of results) {
      expect([200, 202, 409]).toContain(amend.status);
      const order = await waitFor(
        async () => {
          const current = await request(`${stack.api.url}/orders/${id}`);
          return ['cancelled', 'filled'].includes(current.body.status) ? current.body : undefined;
        },
        120_000,
        `order ${id} to end`,
      );
      const venue = await venueView(id);
      const replaced = venue.executions.filter((e) => e.exec_type === 'replaced');
      // The service's view = the venue's, once the ingestion has everything.
      const settled = await waitFor(async () => {
        const current = (await request(`${stack.api.url}/orders/${id}`)).body;
        return current.filled_quantity === venue.cum_qty && current.quantity === venue.order?.quantity ? current : undefined;
      }, 30_000);
      expect(settled.status).toBe(venue.status);
      expect(settled.status).toBe(order.status);
      // The history says which won: an amend event exactly when the venue replaced the order.
      expect(amendEvents(settled)).toHaveLength(replaced.length);
      if (amend.status === 200) {
        expect(replaced).toHaveLength(1);
        expect(settled.quantity).toBe(quantity);
        outcomes.amended += 1;
      } else if (amend.status === 409) {
        expect(replaced).toHaveLength(0);
        expect(settled.quantity).toBe(QUANTITY);
        expect(['quantity_not_above_filled', 'final']).toContain(amend.body.reason);
        outcomes.refused += 1;
      } else {
        outcomes.undecided += 1;
      }
      // No fill lost or counted twice: the stored fills are the venue's, exec id for exec id.
      const venueFills = venue.executions.filter((e) => e.exec_type === 'partial_fill' || e.exec_type === 'fill');
      const stored = await waitFor(async () => {
        const page = await request(`${stack.api.url}/orders/${id}/executions?limit=500`);
        const fills = (page.body.data as { exec_id: string; exec_type: string; quantity: number }[]).filter(
          (e) => e.exec_type === 'partial_fill' || e.exec_type === 'fill',
        );
        return fills.length === venueFills.length ? fills : undefined;
      }, 30_000);
      expect(stored.map((e) => e.exec_id)).toEqual(venueFills.map((e) => e.exec_id));
      expect(stored.reduce((sum, e) => sum + e.quantity, 0)).toBe(settled.filled_quantity);
    }
    console.log('amends racing fills:', outcomes);
    expect(outcomes.amended + outcomes.refused + outcomes.undecided).toBe(ORDERS);
  });
});

describe('amending a stop (stop_price) and the expiry of a time in force amend', () => {
  const setPrice = (instrument: string, price: string) =>
    venueControl('/control/price', { instrument, price }) as Promise<{ triggered: string[] }>;
  const orderOf = async (id: string) => (await request(`${stack.api.url}/orders/${id}`)).body;

  async function placedStop(body: Record<string, unknown>): Promise<string> {
    const created = await postJson(`${stack.api.url}/orders`, body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await waitFor(async () => (reachedExchange((await orderOf(id)).status) ? true : undefined), 60_000);
    return id;
  }

  it('a held stop’s new stop price: the price past the old one leaves it held, past the new one triggers it there', {
    timeout: 120_000,
  }, async () => {
    const instrument = uniqueInstrument('AS');
    await setPrice(instrument, '100.00');
    const id = await placedStop({ type: 'stop', side: 'buy', instrument, stop_price: '110.00', quantity: 10, time_in_force: 'gtc' });

    const amended = await patch(id, { stop_price: '120.00' });
    expect(amended.status, JSON.stringify(amended.body)).toBe(200);
    expect(amended.body).toMatchObject({ id, stop_price: 120, status: 'placed', quantity: 10 });
    // The service's row follows once the ingestion applied the venue's replaced report; the history names the change.
    const stored = await waitFor(async () => {
      const current = await orderOf(id);
      return current.stop_price === 120 && amendEvents(current).length === 1 ? current : undefined;
    }, 30_000);
    expect(amendEvents(stored)[0]?.reason).toBe('amended: stop_price 110.00 -> 120.00');

    // Past the old stop price: still held.
    expect((await setPrice(instrument, '115.00')).triggered).toEqual([]);
    await sleep(300);
    expect(await orderOf(id)).toMatchObject({ status: 'placed', filled_quantity: 0 });
    // At the new one: triggered there, filled as a market order.
    expect((await setPrice(instrument, '120.00')).triggered).toEqual([id]);
    const filled = await waitFor(async () => {
      const current = await orderOf(id);
      return current.status === 'filled' ? current : undefined;
    }, 30_000);
    expect(filled).toMatchObject({ filled_quantity: 10, average_fill_price: 120 });
    const venue = await venueViewOf(id);
    expect(venue.executions.map((e) => e.exec_type)).toEqual(['new', 'replaced', 'triggered', 'partial_fill', 'fill']);
    expect(venue.executions[2]?.last_px).toBe('120.0000');
  });

  it('a triggered stop_limit resting at its limit: a stop price 409 already_triggered (nothing changes), a quantity still 200', {
    timeout: 120_000,
  }, async () => {
    const instrument = uniqueInstrument('AT');
    await setPrice(instrument, '100.00');
    const id = await placedStop({
      type: 'stop_limit',
      side: 'sell',
      instrument,
      stop_price: '95.00',
      limit_price: '150.00',
      quantity: 10,
      time_in_force: 'gtc',
    });
    expect((await setPrice(instrument, '95.00')).triggered).toEqual([id]);
    await waitFor(async () => ((await venueViewOf(id)).executions.some((e) => e.exec_type === 'triggered') ? true : undefined));

    const late = await patch(id, { stop_price: '90.00', quantity: 12 });
    expect(late.status, JSON.stringify(late.body)).toBe(409);
    expect(late.body.reason).toBe('already_triggered');
    const venue = (await venueViewOf(id)) as unknown as VenueOrderView & { order: { stop_price: string } };
    expect(venue.executions.map((e) => e.exec_type)).toEqual(['new', 'triggered']);
    expect(venue.order).toMatchObject({ quantity: 10, stop_price: '95.00' });

    const more = await patch(id, { quantity: 12 });
    expect(more.status).toBe(200);
    expect(more.body).toMatchObject({ quantity: 12, stop_price: 95 });
    // A stop price of an order that is no stop: 422 naming it, before anything is asked.
    const limit = await restingOrder(instrument, 5);
    const prohibited = await patch(limit, { stop_price: '1.00' });
    expect(prohibited.status).toBe(422);
    expect(prohibited.body.detail[0]).toMatchObject({
      loc: ['body', 'stop_price'],
      msg: 'Providing a `stop_price` is prohibited for type `limit`',
    });
  });

  it('-> ioc on a resting order: the venue decides it at once, the filled part kept and the rest cancelled (no client cancel)', {
    timeout: 120_000,
  }, async () => {
    const id = await restingOrder(uniqueInstrument('AI'), 10);
    await venueControl('/control/fill', { order_id: id, qty: 3, px: '0.0100' });

    const amended = await patch(id, { time_in_force: 'ioc' });
    expect(amended.status).toBe(200);
    // Its limit (0.01) is far below the price: nothing more can fill at once, the rest is cancelled.
    const ended = await waitFor(async () => {
      const current = await orderOf(id);
      return current.status === 'cancelled' ? current : undefined;
    }, 30_000);
    expect(ended).toMatchObject({ time_in_force: 'ioc', filled_quantity: 3, quantity: 10 });
    const venue = await venueView(id);
    expect(venue.status).toBe('cancelled');
    expect(venue.cum_qty).toBe(3);
    expect(venue.executions.map((e) => e.exec_type)).toEqual(['new', 'partial_fill', 'replaced', 'cancelled']);
    // Its history: the amend by the caller, then the venue's cancel, no cancel asked by a client.
    expect(amendEvents(ended)).toHaveLength(1);
    const cancelled = (ended.events as { status: string; actor: string }[]).filter((event) => event.status === 'cancelled');
    expect(cancelled).toEqual([expect.objectContaining({ actor: SYSTEM_ACTOR })]);
  });

  it('gtc -> day: orders.expires_at becomes the venue’s expiry (as the 200 said); day -> gtc: null again', {
    timeout: 120_000,
  }, async () => {
    const id = await restingOrder(uniqueInstrument('AE'), 10);
    expect((await orderOf(id)).expires_at).toBeNull();

    const day = await patch(id, { time_in_force: 'day' });
    expect(day.status).toBe(200);
    const venueExpiry = ((await venueViewOf(id)) as unknown as { expires_at: string | null }).expires_at;
    expect(venueExpiry).not.toBeNull();
    expect(day.body.expires_at).toBe(venueExpiry);
    const stored = await waitFor(async () => {
      const current = await orderOf(id);
      return current.time_in_force === 'day' ? current : undefined;
    }, 30_000);
    expect(stored.expires_at).toBe(venueExpiry);
    const { rows } = await stack.db.query<{ expires_at: Date | null }>('SELECT expires_at FROM orders WHERE id = $1', [id]);
    expect(rows[0]?.expires_at?.toISOString()).toBe(venueExpiry);

    const gtc = await patch(id, { time_in_force: 'gtc' });
    expect(gtc.status).toBe(200);
    expect(gtc.body.expires_at).toBeNull();
    const back = await waitFor(async () => {
      const current = await orderOf(id);
      return current.time_in_force === 'gtc' ? current : undefined;
    }, 30_000);
    expect(back.expires_at).toBeNull();
    expect(((await venueViewOf(id)) as unknown as { expires_at: string | null }).expires_at).toBeNull();
  });
});
