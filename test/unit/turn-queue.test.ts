import { describe, expect, it } from 'vitest';
import { submitOrder } from '../../api/submit-order.js';
import { createTurnQueue, TurnMissedError } from '../../api/turn-queue.js';
import type { NewOrder } from '../../domain/order.js';
import { FakeOrders, FakePlacement } from '../support/fakes.js';

// The queue in front of the API's inserts and workflow starts: in arrival order, bounded
// concurrency, a task whose turn does not come by its deadline is never run.

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('createTurnQueue', () => {
  it('runs at most `concurrency` tasks at once, the others in arrival order', async () => {
    const queue = createTurnQueue(2);
    const started: number[] = [];
    const gates = [gate(), gate(), gate(), gate()];
    const runs = gates.map((g, i) =>
      queue.run(Date.now() + 60_000, async () => {
        started.push(i);
        await g.opened;
        return i;
      }),
    );
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    gates[1]!.open();
    await runs[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
  });

  it('drops a task whose turn has not come by its deadline, without running it', async () => {
    const queue = createTurnQueue(1);
    const busy = gate();
    const first = queue.run(Date.now() + 60_000, () => busy.opened);
    let ran = false;
    const late = queue.run(Date.now() + 50, async () => {
      ran = true;
    });
    await expect(late).rejects.toBeInstanceOf(TurnMissedError);
    busy.open();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toBe(false);
  });

  it('a task that started before its deadline counts, however long it then takes', async () => {
    const queue = createTurnQueue(1);
    const result = await queue.run(Date.now() + 20, async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return 'done';
    });
    expect(result).toBe('done');
  });
});

describe('submitOrder with an insert queue', () => {
  const REQUEST: NewOrder = { type: 'market', side: 'buy', instrument: 'US0378331005', limitPrice: null, quantity: 1, timeInForce: 'day' };

  it('stores nothing and starts nothing when the insert does not get its turn within the budget', async () => {
    const orders = new FakeOrders();
    const placement = new FakePlacement();
    const queue = createTurnQueue(1);
    const busy = gate();
    const holder = queue.run(Date.now() + 60_000, () => busy.opened);
    // Budget 300 ms, an insert may take 200 ms: its turn must come within 100 ms.
    await expect(submitOrder({ orders, placement, budgetMs: 300, inserts: { queue, boundMs: 200 } }, REQUEST)).rejects.toBeInstanceOf(
      TurnMissedError,
    );
    busy.open();
    await holder;
    expect(orders.byId.size).toBe(0);
    expect(placement.tickets).toEqual([]);
  });

  it('inserts and starts when the turn comes within the budget', async () => {
    const orders = new FakeOrders();
    const placement = new FakePlacement();
    const order = await submitOrder({ orders, placement, budgetMs: 5000, inserts: { queue: createTurnQueue(1), boundMs: 3000 } }, REQUEST);
    expect(order.status).toBe('accepted');
    expect(placement.tickets.map((ticket) => ticket.id)).toEqual([order.id]);
  });
});
