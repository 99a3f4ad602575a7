import { beforeEach, describe, expect, it } from 'vitest';
import { ClientError } from '../../api/errors.js';
import { amendFingerprint, fingerprint, type IdempotencyDeps, withIdempotencyKey } from '../../api/idempotency.js';
import type { NewOrder, Order } from '../../domain/order.js';
import type { WorkflowState } from '../../temporal/pending-orders.js';
import { rejectionOf } from '../support/errors.js';
import { FakeKeys, FakeOrders, fakeProbe } from '../support/fakes.js';
import { storedOrder } from '../support/orders.js';

// withIdempotencyKey alone, over in-memory key and order stores: a repeat replays the first
// answer, another body under the key is 422, a request still holding the key 409, and a key
// whose request died holding it is taken over, its earlier order decided, never duplicated.

const REQUEST: NewOrder = { type: 'market', side: 'buy', instrument: 'US0378331005', limitPrice: null, quantity: 5, timeInForce: 'day' };
const KEY = 'key-1';
const STALE_LOCK_MS = 60_000;
let keys: FakeKeys;
let orders: FakeOrders;
let workflows: Record<string, WorkflowState>;
let submitted: NewOrder[];

beforeEach(() => {
  keys = new FakeKeys();
  orders = new FakeOrders();
  workflows = {};
  submitted = [];
});

function deps(): IdempotencyDeps {
  const probe = fakeProbe(workflows);
  return { keys, orders, probe, ttlMs: 3_600_000, staleLockMs: STALE_LOCK_MS };
}

/** The order submission the route passes: stores the order with the key, accepted. */
async function submit(request: NewOrder, key: string): Promise<Order> {
  submitted.push(request);
  const order = await orders.create(request, key);
  await orders.accept(order.id);
  return { ...order, status: 'accepted' };
}

const rejection = (run: Promise<unknown>) => rejectionOf(run, ClientError);

/** A key claimed by a request that is still running (or that died), `ageMs` ago. */
async function heldKey(ageMs: number): Promise<void> {
  await keys.claim(KEY, fingerprint(REQUEST), 3_600_000);
  keys.rows.get(KEY)!.lockedAt = new Date(Date.now() - ageMs);
}

describe('withIdempotencyKey', () => {
  it('submits once and replays the first answer to a repeat, marked replayed', async () => {
    const first = await withIdempotencyKey(deps(), KEY, REQUEST, submit);
    expect(first).toMatchObject({ status: 201, replayed: false });
    const repeat = await withIdempotencyKey(deps(), KEY, { ...REQUEST }, submit);
    expect(repeat).toEqual({ ...first, replayed: true });
    expect(submitted).toHaveLength(1);
  });

  it('answers 422 to the key used again with another body, and submits nothing', async () => {
    await withIdempotencyKey(deps(), KEY, REQUEST, submit);
    const error = await rejection(withIdempotencyKey(deps(), KEY, { ...REQUEST, quantity: 6 }, submit));
    expect(error.status).toBe(422);
    expect(submitted).toHaveLength(1);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    await heldKey(0);
    const error = await rejection(withIdempotencyKey(deps(), KEY, REQUEST, submit));
    expect(error.status).toBe(409);
    expect(submitted).toEqual([]);
  });

  it('takes over a stale key and returns the earlier pending order as accepted when its workflow runs', async () => {
    await heldKey(STALE_LOCK_MS + 1000);
    const earlier = orders.put(storedOrder(REQUEST), KEY);
    workflows[earlier.id] = 'running';
    const answer = await withIdempotencyKey(deps(), KEY, REQUEST, submit);
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ id: earlier.id, status: 'accepted' });
    expect(orders.byId.get(earlier.id)?.status).toBe('accepted');
    expect(submitted).toEqual([]);
    expect(keys.rows.get(KEY)).toMatchObject({ orderId: earlier.id, responseStatus: 201, responseBody: answer.body });
  });

  it('takes over a stale key, rejects the earlier pending order without a workflow and submits a new one', async () => {
    await heldKey(STALE_LOCK_MS + 1000);
    const earlier = orders.put(storedOrder(REQUEST), KEY);
    const answer = await withIdempotencyKey(deps(), KEY, REQUEST, submit);
    expect(orders.byId.get(earlier.id)?.status).toBe('rejected');
    expect(submitted).toEqual([REQUEST]);
    const body = JSON.parse(answer.body);
    expect(body.id).not.toBe(earlier.id);
    expect(body.status).toBe('accepted');
    expect(orders.byId.get(body.id)?.status).toBe('accepted');
  });
});

describe('amendFingerprint', () => {
  it('tells amends apart by their stop price; one without a stop price hashes as before stop prices were amendable', async () => {
    const { createHash } = await import('node:crypto');
    const id = '00000000-0000-4000-8000-000000000001';
    expect(amendFingerprint(id, { stopPrice: '12.00' })).not.toBe(amendFingerprint(id, { stopPrice: '12.50' }));
    expect(amendFingerprint(id, { stopPrice: '12.00' })).not.toBe(amendFingerprint(id, { limitPrice: '12.00' }));
    const before = createHash('sha256')
      .update(JSON.stringify(['PATCH', id, 5, '1.00', 'gtc']))
      .digest('hex');
    expect(amendFingerprint(id, { quantity: 5, limitPrice: '1.00', timeInForce: 'gtc' })).toBe(before);
  });
});
