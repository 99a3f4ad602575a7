import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { OrderTicket } from '../../domain/order.js';
import { createSimulatedExchange, MissingOrderError, OrderPlacementError } from '../../exchange/exchange.js';

// The simulated exchange is the seed's `place_order`: the same messages, the same 10% failure
// drawn before any work, the same "expensive operation" — but on a timer, never blocking Node.

const ticket: OrderTicket = {
  id: '3f0c9a52-6a55-4a4e-9d0b-2a7c1d9e8b11',
  type: 'limit',
  side: 'buy',
  instrument: 'US0378331005',
  limitPrice: '187.25',
  quantity: 10,
  timeInForce: 'day',
  createdAt: '2024-05-06T07:08:09.123Z',
};

/** A `random` that returns the given draws in turn and counts how often it was called. */
function draws(...values: number[]) {
  let calls = 0;
  const random = () => {
    const value = values[Math.min(calls, values.length - 1)];
    calls += 1;
    if (value === undefined) throw new Error('no draw configured');
    return value;
  };
  return { random, calls: () => calls };
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [result] = await Promise.allSettled([run()]);
  return { ms: performance.now() - start, result: result! };
}

describe('createSimulatedExchange', () => {
  it('fails with OrderPlacementError and the seed message on a draw in the top 10%', async () => {
    const exchange = createSimulatedExchange({ failureRate: 0.1, latencyMs: 0, random: draws(0.95).random });
    const error = await exchange.placeOrder(ticket).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OrderPlacementError);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(MissingOrderError);
    expect((error as Error).name).toBe('OrderPlacementError');
    expect((error as Error).message).toBe('Failed to place order at stock exchange. Connection not available');
  });

  it('fails with MissingOrderError and the seed message when called without an order, drawing nothing', async () => {
    const random = draws(0); // a draw of 0 would never fail, so an OrderPlacementError cannot hide this
    const exchange = createSimulatedExchange({ failureRate: 1, latencyMs: 5000, random: random.random });
    const { ms, result } = await timed(() => exchange.placeOrder(undefined));
    expect(result.status).toBe('rejected');
    const error = (result as PromiseRejectedResult).reason as Error;
    expect(error).toBeInstanceOf(MissingOrderError);
    expect(error).not.toBeInstanceOf(OrderPlacementError);
    expect(error.name).toBe('MissingOrderError');
    expect(error.message).toBe('Required order parameter not provided');
    expect(random.calls()).toBe(0);
    expect(ms).toBeLessThan(1000);
  });

  it.each([
    { draw: 0.9, fails: true },
    { draw: 0.95, fails: true },
    { draw: 0.9999999999, fails: true },
    { draw: 0.8999, fails: false },
    { draw: 0.5, fails: false },
    { draw: 0, fails: false },
  ])('at failureRate 0.1 a draw of $draw fails: $fails', async ({ draw, fails }) => {
    const random = draws(draw);
    const exchange = createSimulatedExchange({ failureRate: 0.1, latencyMs: 0, random: random.random });
    const { result } = await timed(() => exchange.placeOrder(ticket));
    if (fails) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(OrderPlacementError);
    } else {
      expect(result).toEqual({ status: 'fulfilled', value: { expiresAt: null } });
    }
    expect(random.calls()).toBe(1);
  });

  it('fails before doing any work: a failing call returns at once even with latencyMs 5000', async () => {
    const exchange = createSimulatedExchange({ failureRate: 0.1, latencyMs: 5000, random: draws(0.99).random });
    const { ms, result } = await timed(() => exchange.placeOrder(ticket));
    expect(result.status).toBe('rejected');
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(OrderPlacementError);
    expect(ms).toBeLessThan(500);
  });

  it('takes about latencyMs on success', async () => {
    const latencyMs = 250;
    const exchange = createSimulatedExchange({ failureRate: 0.1, latencyMs, random: draws(0.1).random });
    const { ms, result } = await timed(() => exchange.placeOrder(ticket));
    expect(result).toEqual({ status: 'fulfilled', value: { expiresAt: null } });
    expect(ms).toBeGreaterThanOrEqual(latencyMs - 5);
    expect(ms).toBeLessThan(latencyMs + 1000);
  });

  it('always fails at failureRate 1, whatever the draw', async () => {
    const values = [0, 0.0001, 0.25, 0.5, 0.75, 0.8999, 0.9, 0.9999999999];
    const random = draws(...values);
    const exchange = createSimulatedExchange({ failureRate: 1, latencyMs: 5000, random: random.random });
    for (let i = 0; i < values.length; i += 1) {
      await expect(exchange.placeOrder(ticket)).rejects.toBeInstanceOf(OrderPlacementError);
    }
    expect(random.calls()).toBe(values.length);
  });

  it('never fails at failureRate 0, whatever the draw', async () => {
    const values = [0, 0.5, 0.9, 0.99, 0.9999999999, 1 - Number.EPSILON];
    const random = draws(...values);
    const exchange = createSimulatedExchange({ failureRate: 0, latencyMs: 0, random: random.random });
    for (let i = 0; i < values.length; i += 1) {
      await expect(exchange.placeOrder(ticket)).resolves.toEqual({ expiresAt: null });
    }
    expect(random.calls()).toBe(values.length);
  });

  it('does not block the event loop while a call runs', async () => {
    const exchange = createSimulatedExchange({ failureRate: 0, latencyMs: 200 });
    let ticks = 0;
    const interval = setInterval(() => {
      ticks += 1;
    }, 10);
    try {
      await exchange.placeOrder(ticket);
    } finally {
      clearInterval(interval);
    }
    // ~20 ticks fit in 200 ms; a blocking call would allow none before it returned.
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it('runs concurrent calls in parallel, not one after another', async () => {
    const exchange = createSimulatedExchange({ failureRate: 0, latencyMs: 200 });
    const { ms, result } = await timed(() => Promise.all(Array.from({ length: 10 }, () => exchange.placeOrder(ticket))));
    expect(result.status).toBe('fulfilled');
    expect(ms).toBeGreaterThanOrEqual(195);
    expect(ms).toBeLessThan(1000); // sequential would take 2,000 ms
  });

  it('fails about 10% of calls with the real Math.random', async () => {
    const calls = 2000;
    const exchange = createSimulatedExchange({ failureRate: 0.1, latencyMs: 0 });
    const results = await Promise.allSettled(Array.from({ length: calls }, () => exchange.placeOrder(ticket)));
    const failures = results.filter((r) => r.status === 'rejected');
    for (const failure of failures) {
      expect((failure as PromiseRejectedResult).reason).toBeInstanceOf(OrderPlacementError);
    }
    // Binomial(2000, 0.1): standard deviation of the share ≈ 0.0067, so 0.06–0.14 is ±6 sigma.
    const share = failures.length / calls;
    expect(share).toBeGreaterThan(0.06);
    expect(share).toBeLessThan(0.14);
  });
});
