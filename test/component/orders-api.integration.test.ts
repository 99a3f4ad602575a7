import { describe, expect, it } from 'vitest';
import { postJson, request } from '../support/http.js';
import { reachedExchange, workflowPlacedStatus } from '../support/orders.js';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

// The whole path through real parts: HTTP -> PostgreSQL -> Temporal dev server -> worker ->
// simulated exchange (fast and flaky here, so retries happen within the test's time).
const stack = useStack({ EXCHANGE_LATENCY_MS: '20', EXCHANGE_FAILURE_RATE: '0.1' });
const { config } = stack;

const post = (body: unknown) => postJson(`${stack.api.url}/orders`, body);
const getOrder = (id: string) => request(`${stack.api.url}/orders/${id}`);

describe('POST /orders through real PostgreSQL and Temporal', () => {
  it('answers 201, starts the order workflow and ends with the order placed', async () => {
    const created = await post({ type: 'limit', side: 'buy', instrument: 'US0378331005', limit_price: 187.25, quantity: 10 });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      type: 'limit',
      side: 'buy',
      instrument: 'US0378331005',
      limit_price: 187.25,
      quantity: 10,
      status: 'accepted',
      placed_at: null,
    });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(created.body.created_at))).toBe(false);
    expect(created.body.workflow_id).toBe(`order-${created.body.id}`);

    const description = await stack.temporal.workflow.getHandle(`order-${created.body.id}`).describe();
    expect(description.type).toBe('placeOrderWorkflow');
    expect(description.taskQueue).toBe(config.TEMPORAL_TASK_QUEUE);

    const placed = await waitFor(async () => {
      const current = await getOrder(created.body.id);
      return reachedExchange(current.body.status) ? current : undefined;
    });
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({ id: created.body.id, limit_price: 187.25, time_in_force: 'day' });
    expect(Date.parse(placed.body.placed_at)).toBeGreaterThanOrEqual(Date.parse(created.body.created_at));

    // The workflow placed it and follows it at the venue until it ends there.
    expect(reachedExchange(await workflowPlacedStatus(stack.temporal.workflow.getHandle(`order-${created.body.id}`)))).toBe(true);
  });

  it('places every one of many concurrent orders', { timeout: 180_000 }, async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => ({
      type: 'market',
      side: i % 2 ? 'buy' : 'sell',
      instrument: 'DE0007164600',
      quantity: i + 1,
    }));
    const created = await Promise.all(bodies.map(post));
    expect(created.map((c) => c.status)).toEqual(bodies.map(() => 201));
    for (const order of created) {
      await waitFor(async () => (reachedExchange((await getOrder(order.body.id)).body.status) ? true : undefined), 60_000);
    }
  });

  it('keeps the exact decimal of a limit price given as a string', async () => {
    const created = await post({ type: 'limit', side: 'sell', instrument: 'US0378331005', limit_price: '0.10', quantity: 1 });
    expect(created.status).toBe(201);
    const { text } = await getOrder(created.body.id);
    expect(text).toContain('"limit_price":0.10');
  });

  it('answers 404 for an unknown order and 422 for a malformed id', async () => {
    const unknown = await getOrder('00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('not found');
    const malformed = await getOrder('not-a-uuid');
    expect(malformed.status).toBe(422);
    expect(malformed.body.detail[0].loc).toEqual(['path', 'id']);
  });
});
