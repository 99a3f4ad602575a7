import { describe, expect, it } from 'vitest';
import { type JsonResponse, postJson, request } from '../support/http.js';
import { uniqueInstrument } from '../support/orders.js';
import { useStack } from '../support/stack.js';
import { venueViewOf } from '../support/venue.js';
import { waitFor } from '../support/wait.js';

// An amend not decided within the request's budget (the cancel's, CANCEL_BUDGET_MS): the venue
// answers a replace after 1.5 s here, the budget is 0.5 s. 202 with the order as it stands; the
// amend is in the workflow's history and is decided all the same (the order's history then
// shows it); a retry with the same Idempotency-Key is the same amend (its Update id), answered
// 200 once decided, and the venue replaced the order once.
const stack = useStack({ EXCHANGE_LATENCY_MS: '1500', EXCHANGE_FAILURE_RATE: '0', CANCEL_BUDGET_MS: '500' });

const patch = (id: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> =>
  request(`${stack.api.url}/orders/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('an amend not decided within the budget', () => {
  it('202, then decided: the history shows it; the same Idempotency-Key answers 200 once decided, one replace', {
    timeout: 120_000,
  }, async () => {
    const created = await postJson(`${stack.api.url}/orders`, {
      type: 'limit',
      side: 'buy',
      instrument: uniqueInstrument('AU'),
      limit_price: '0.01',
      quantity: 10,
      time_in_force: 'gtc',
    });
    const id = created.body.id as string;
    await waitFor(async () => ((await request(`${stack.api.url}/orders/${id}`)).body.status === 'placed' ? true : undefined), 60_000);

    const key = `amend-undecided-${id}`;
    const first = await patch(id, { quantity: 25 }, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(first.body.quantity).toBe(10);

    const amended = await waitFor(
      async () => {
        const order = (await request(`${stack.api.url}/orders/${id}`)).body;
        return order.quantity === 25 ? order : undefined;
      },
      30_000,
      'the amend to be applied',
    );
    expect(amended.events.filter((e: { reason: string | null }) => e.reason === 'amended: quantity 10 -> 25')).toHaveLength(1);

    const retried = await patch(id, { quantity: 25 }, { 'Idempotency-Key': key });
    expect(retried.status).toBe(200);
    expect(retried.body.quantity).toBe(25);
    const venue = await venueViewOf(id);
    expect(venue.executions.filter((e) => e.exec_type === 'replaced')).toHaveLength(1);
  });
});
