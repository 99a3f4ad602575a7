import { createHash } from 'node:crypto';
import { type NewOrder, type Order, REJECTION_REASONS } from '../domain/order.js';
import type { IdempotencyRepository } from '../prisma/idempotency-repository.js';
import type { OrdersRepository } from '../prisma/orders-repository.js';
import { decidePendingOrder, type OrderWorkflowProbe } from '../temporal/pending-orders.js';
import { ClientError } from './errors.js';
import { orderJson } from './order-response.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyDeps {
  keys: Pick<IdempotencyRepository, 'claim' | 'find' | 'takeOver' | 'complete' | 'release' | 'deleteExpired'>;
  orders: Pick<OrdersRepository, 'findByIdempotencyKey' | 'releaseIdempotencyKey' | 'accept' | 'rejectIfPending'>;
  /** Whether an earlier request's order has a workflow: decides an order it left pending. */
  probe: OrderWorkflowProbe;
  ttlMs: number;
  /** A key held longer than this by a request that never finished is taken over (> request bound). */
  staleLockMs: number;
}

export interface Answer {
  status: number;
  body: string;
  replayed: boolean;
}

export function validateKey(key: string): string {
  if (!KEY_FORMAT.test(key)) {
    throw new ClientError(400, `${IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters`);
  }
  return key;
}

/** The same order, however its JSON was written (key order, 10.5 vs "10.50"). */
export function fingerprint(request: NewOrder): string {
  const { type, side, instrument, limitPrice, quantity, stopPrice } = request;
  // A stop's price is appended only when there is one: the other orders' fingerprints, stored with keys before stops existed, stay as they were.
  return createHash('sha256')
    .update(JSON.stringify([type, side, instrument, limitPrice, quantity, ...(stopPrice ? [stopPrice] : [])]))
    .digest('hex');
}

/**
 * Runs `submit` at most once per key, after the IETF Idempotency-Key draft and Stripe: a repeat
 * with the same body gets the first answer again; with another body, 422; while the first is
 * still running, 409. Only successes are stored: a request that failed (500) leaves no trace
 * under its key, and its order was rejected, so a retry with the key simply tries again.
 * `submit` receives the key, to store it on the order it creates.
 */
export async function withIdempotencyKey(
  deps: IdempotencyDeps,
  key: string,
  request: NewOrder,
  submit: (request: NewOrder, key: string) => Promise<Order>,
): Promise<Answer> {
  const hash = fingerprint(request);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await deps.keys.claim(key, hash, deps.ttlMs)) return execute(deps, key, request, submit);
    const stored = await deps.keys.find(key);
    if (!stored) continue; // released in between: claim again
    if (stored.expiresAt.getTime() <= Date.now()) {
      await deps.keys.deleteExpired(key);
      continue;
    }
    if (stored.requestHash !== hash) {
      throw new ClientError(422, `${IDEMPOTENCY_HEADER} was already used with a different request body`);
    }
    if (stored.responseStatus !== null && stored.responseBody !== null) {
      return { status: stored.responseStatus, body: stored.responseBody, replayed: true };
    }
    const stale = stored.lockedAt.getTime() < Date.now() - deps.staleLockMs;
    if (stale && (await deps.keys.takeOver(key, stored.lockedAt))) return execute(deps, key, request, submit);
    throw new ClientError(409, `A request with this ${IDEMPOTENCY_HEADER} is still being processed`);
  }
  throw new ClientError(409, `A request with this ${IDEMPOTENCY_HEADER} is still being processed`);
}

async function execute(
  deps: IdempotencyDeps,
  key: string,
  request: NewOrder,
  submit: (request: NewOrder, key: string) => Promise<Order>,
): Promise<Answer> {
  let order: Order;
  try {
    order = await resumeOrSubmit(deps, key, request, submit);
  } catch (error) {
    await deps.orders.releaseIdempotencyKey(key).catch(() => {});
    await deps.keys.release(key).catch(() => {});
    throw error;
  }
  const body = orderJson(order);
  // The order is accepted: the answer is 201 whatever happens now. If storing it fails, the key
  // stays locked; once stale, a retry takes it over, finds this order and stores the answer.
  await deps.keys.complete(key, order.id, 201, body).catch(() => {});
  return { status: 201, body, replayed: false };
}

/** An order an earlier request with this key stored before it died is decided, not duplicated. */
async function resumeOrSubmit(
  deps: IdempotencyDeps,
  key: string,
  request: NewOrder,
  submit: (request: NewOrder, key: string) => Promise<Order>,
): Promise<Order> {
  const earlier = await deps.orders.findByIdempotencyKey(key);
  if (earlier) {
    const status =
      earlier.status === 'pending' ? await decidePendingOrder(deps, earlier.id, REJECTION_REASONS.requestDied) : earlier.status;
    if (status !== null && status !== 'rejected') return { ...earlier, status };
    await deps.orders.releaseIdempotencyKey(key);
  }
  return submit(request, key);
}

/** An amend's fingerprint: the order and the fields asked, however the JSON was written; never a POST's. */
export function amendFingerprint(
  orderId: string,
  request: { quantity?: number; limitPrice?: string; stopPrice?: string; timeInForce?: string },
): string {
  const fields: unknown[] = ['PATCH', orderId, request.quantity ?? null, request.limitPrice ?? null, request.timeInForce ?? null];
  // Only when given: an amend without one hashes as before stop prices were amendable (keys stored then still match).
  if (request.stopPrice !== undefined) fields.push(request.stopPrice);
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

/**
 * The Idempotency-Key of PATCH /orders/{id}, with POST's rules (withIdempotencyKey): a repeat
 * with the same body gets the first answer again, with another body (or the key used on another
 * request) 422, while the first still runs 409. Only a decided answer (`store`: the amend's 200)
 * is kept; anything else (a 202, an error) leaves the key free, and a retry asks again, with the
 * same Update id (`run` derives it from the key), which Temporal answers as the same amend.
 */
export async function withIdempotentAnswer(
  deps: Pick<IdempotencyDeps, 'keys' | 'ttlMs' | 'staleLockMs'>,
  key: string,
  hash: string,
  run: () => Promise<{ status: number; body: string; orderId: string; store: boolean }>,
): Promise<Answer> {
  const execute = async (): Promise<Answer> => {
    let answer: Awaited<ReturnType<typeof run>>;
    try {
      answer = await run();
    } catch (error) {
      await deps.keys.release(key).catch(() => {});
      throw error;
    }
    if (answer.store) await deps.keys.complete(key, answer.orderId, answer.status, answer.body).catch(() => {});
    else await deps.keys.release(key).catch(() => {});
    return { status: answer.status, body: answer.body, replayed: false };
  };
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await deps.keys.claim(key, hash, deps.ttlMs)) return execute();
    const stored = await deps.keys.find(key);
    if (!stored) continue;
    if (stored.expiresAt.getTime() <= Date.now()) {
      await deps.keys.deleteExpired(key);
      continue;
    }
    if (stored.requestHash !== hash) {
      throw new ClientError(422, `${IDEMPOTENCY_HEADER} was already used with a different request body`);
    }
    if (stored.responseStatus !== null && stored.responseBody !== null) {
      return { status: stored.responseStatus, body: stored.responseBody, replayed: true };
    }
    const stale = stored.lockedAt.getTime() < Date.now() - deps.staleLockMs;
    if (stale && (await deps.keys.takeOver(key, stored.lockedAt))) return execute();
    throw new ClientError(409, `A request with this ${IDEMPOTENCY_HEADER} is still being processed`);
  }
  throw new ClientError(409, `A request with this ${IDEMPOTENCY_HEADER} is still being processed`);
}
