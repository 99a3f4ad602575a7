import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { postJson, request } from '../support/http.js';
import { reachedExchange, uniqueInstrument } from '../support/orders.js';
import { useStack } from '../support/stack.js';
import { venueControl, venueViewOf } from '../support/venue.js';
import { waitFor } from '../support/wait.js';

// DELETE racing fills, through the real API, worker, venue and ingestion: orders rest at the
// venue (a buy limit far below any price), the venue fills them bit by bit at random moments
// (its control port), and a cancel comes at a random moment too. Each order must end either
// cancelled with exactly the quantity the venue filled before the cancel, or filled with the
// cancel refused; no fill is ever lost or counted twice.
const stack = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0' });

const ORDERS = 16;
const QUANTITY = 100;
const FILL = 10;

async function fillUntilDone(orderId: string, stop: () => boolean): Promise<number> {
  let fills = 0;
  while (!stop()) {
    await sleep(20 + Math.random() * 120);
    try {
      await venueControl('/control/fill', { order_id: orderId, qty: FILL, px: '0.0100' });
      fills += 1;
    } catch {
      return fills; // the venue refuses: the order is no longer working (filled or cancelled)
    }
  }
  return fills;
}

describe('cancel racing fills', () => {
  it('every order ends cancelled with the venue’s filled quantity, or filled with the cancel refused; no fill lost', {
    timeout: 300_000,
  }, async () => {
    const instrument = uniqueInstrument('CF');
    const created = await Promise.all(
      Array.from({ length: ORDERS }, () =>
        postJson(`${stack.api.url}/orders`, {
          type: 'limit',
          side: 'buy',
          instrument,
          limit_price: '0.01',
          quantity: QUANTITY,
          time_in_force: 'gtc',
        }),
      ),
    );
    expect(created.map((c) => c.status)).toEqual(created.map(() => 201));
    const ids = created.map((c) => c.body.id as string);
    for (const id of ids) {
      await waitFor(async () => (reachedExchange((await request(`${stack.api.url}/orders/${id}`)).body.status) ? true : undefined), 60_000);
    }

    const results = await Promise.all(
      ids.map(async (id) => {
        let cancelled = false;
        const filling = fillUntilDone(id, () => cancelled);
        await sleep(Math.random() * 1500); // a random moment among the fills
        const cancel = await request(`${stack.api.url}/orders/${id}`, { method: 'DELETE' });
        cancelled = true;
        await filling;
        return { id, cancel };
      }),
    );

    const outcomes = { cancelled: 0, filled: 0 };
    for (const { id, cancel } of results) {
      // The decision may have come after the DELETE's budget (202): read it once it is made.
      const order = await waitFor(
        async () => {
          const current = await request(`${stack.api.url}/orders/${id}`);
          return ['cancelled', 'filled'].includes(current.body.status) ? current.body : undefined;
        },
        120_000,
        `order ${id} to end`,
      );
      const venue = await venueViewOf(id);
      expect(venue.status).toBe(order.status);
      expect(order.filled_quantity).toBe(venue.cum_qty);
      if (order.status === 'cancelled') {
        expect([200, 202]).toContain(cancel.status);
        outcomes.cancelled += 1;
      } else {
        expect([409, 202]).toContain(cancel.status);
        expect(order.filled_quantity).toBe(QUANTITY);
        outcomes.filled += 1;
      }
      // Fill for fill, the executions the service stored are the venue's.
      const venueFills = venue.executions.filter((e) => e.exec_type === 'partial_fill' || e.exec_type === 'fill');
      const stored = await waitFor(async () => {
        const page = await request(`${stack.api.url}/orders/${id}/executions?limit=500`);
        const fills = (page.body.data as { exec_id: string; exec_type: string; quantity: number }[]).filter(
          (e) => e.exec_type === 'partial_fill' || e.exec_type === 'fill',
        );
        return fills.length === venueFills.length ? fills : undefined;
      }, 30_000);
      expect(stored.map((e) => e.exec_id)).toEqual(venueFills.map((e) => e.exec_id));
      expect(stored.reduce((sum, e) => sum + e.quantity, 0)).toBe(order.filled_quantity);
      expect(order.average_fill_price === null ? null : Number(order.average_fill_price)).toBe(order.filled_quantity > 0 ? 0.01 : null);
    }
    console.log('cancel racing fills:', outcomes);
    expect(outcomes.cancelled + outcomes.filled).toBe(ORDERS);
  });
});
