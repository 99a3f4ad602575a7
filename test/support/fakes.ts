import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type AppDeps, createApp } from '../../api/app.js';
import type { OrderCancellation, PlacementStarter } from '../../api/placement-client.js';
import { createLogger } from '../../config/logger.js';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import {
  type NewOrder,
  NOTHING_DECIDED,
  type Order,
  type OrderEvent,
  type OrderStatus,
  type OrderTicket,
  workflowIdFor,
} from '../../domain/order.js';
import type { IdempotencyRepository, StoredKey } from '../../prisma/idempotency-repository.js';
import type { OrdersRepository } from '../../prisma/orders-repository.js';
import type { WorkflowState } from '../../temporal/pending-orders.js';
import { postJson } from './http.js';

// In-memory stand-ins for PostgreSQL and Temporal, for tests of the API's and the activities'
// logic. Each records its calls and lets a test replace a method (a failure, a race lost).

type OrderMethod =
  | 'create'
  | 'find'
  | 'events'
  | 'accept'
  | 'rejectIfPending'
  | 'findByIdempotencyKey'
  | 'releaseIdempotencyKey'
  | 'claimForPlacement'
  | 'markPlaced'
  | 'markCancelled';
export type OrderStore = Pick<OrdersRepository, OrderMethod>;

export const FAKE_CREATED_AT = new Date('2024-05-06T07:08:09.123Z');

/** The orders table with its conditional status changes, in memory. */
export class FakeOrders implements OrderStore {
  readonly byId = new Map<string, Order>();
  readonly keys = new Map<string, string>(); // idempotency key -> order id
  readonly calls: { method: OrderMethod; args: unknown[] }[] = [];
  /** What reached create(), as it received it. */
  readonly created: NewOrder[] = [];
  /** A method set here runs instead of the in-memory one (its call is recorded all the same). */
  stubs: Partial<OrderStore> = {};

  reset(): void {
    this.byId.clear();
    this.keys.clear();
    this.calls.length = 0;
    this.created.length = 0;
    this.stubs = {};
  }

  /** Stores an order as it is (a row an earlier request or actor left). */
  put(order: Order, idempotencyKey?: string): Order {
    this.byId.set(order.id, { ...order });
    if (idempotencyKey !== undefined) this.keys.set(idempotencyKey, order.id);
    return order;
  }

  callsOf(method: OrderMethod): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  /** One store for every account: the fakes' tests are about one caller. */
  forAccount(_accountId: string): this {
    return this;
  }

  async recordCancelRequest(_id: string, _actor: string): Promise<void> {}

  async create(order: NewOrder, idempotencyKey?: string): Promise<Order> {
    this.calls.push({ method: 'create', args: [order, idempotencyKey] });
    this.created.push(structuredClone(order));
    if (this.stubs.create) return this.stubs.create(order, idempotencyKey);
    const stored: Order = {
      ...order,
      id: randomUUID(),
      accountId: DEMO_ACCOUNT_ID,
      clientOrderId: order.clientOrderId ?? null,
      status: 'pending',
      createdAt: FAKE_CREATED_AT,
      ...NOTHING_DECIDED,
    };
    this.put(stored, idempotencyKey);
    return { ...stored };
  }

  async find(id: string): Promise<Order | null> {
    this.calls.push({ method: 'find', args: [id] });
    if (this.stubs.find) return this.stubs.find(id);
    const stored = this.byId.get(id);
    return stored ? { ...stored } : null;
  }

  async findMany(ids: readonly string[]): Promise<Map<string, Order>> {
    const found = await Promise.all(ids.map((id) => this.find(id)));
    return new Map(found.filter((order): order is Order => order !== null).map((order) => [order.id, order]));
  }

  async events(id: string): Promise<OrderEvent[]> {
    this.calls.push({ method: 'events', args: [id] });
    return this.stubs.events ? this.stubs.events(id) : [];
  }

  async findByIdempotencyKey(key: string): Promise<Order | null> {
    this.calls.push({ method: 'findByIdempotencyKey', args: [key] });
    if (this.stubs.findByIdempotencyKey) return this.stubs.findByIdempotencyKey(key);
    const id = this.keys.get(key);
    const stored = id === undefined ? undefined : this.byId.get(id);
    return stored ? { ...stored } : null;
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    this.calls.push({ method: 'releaseIdempotencyKey', args: [key] });
    if (this.stubs.releaseIdempotencyKey) return this.stubs.releaseIdempotencyKey(key);
    const id = this.keys.get(key);
    if (id !== undefined && this.byId.get(id)?.status === 'rejected') this.keys.delete(key);
  }

  async accept(id: string): Promise<OrderStatus | null> {
    this.calls.push({ method: 'accept', args: [id] });
    if (this.stubs.accept) return this.stubs.accept(id);
    return this.transition(id, ['pending'], { status: 'accepted' });
  }

  async rejectIfPending(id: string, reason: string): Promise<OrderStatus | null> {
    this.calls.push({ method: 'rejectIfPending', args: [id, reason] });
    if (this.stubs.rejectIfPending) return this.stubs.rejectIfPending(id, reason);
    return this.transition(id, ['pending'], { status: 'rejected', rejectedAt: new Date(), rejectedReason: reason });
  }

  async claimForPlacement(id: string): Promise<OrderStatus | null> {
    this.calls.push({ method: 'claimForPlacement', args: [id] });
    if (this.stubs.claimForPlacement) return this.stubs.claimForPlacement(id);
    return this.transition(id, ['pending', 'accepted'], { status: 'placing' });
  }

  async markPlaced(id: string, placedAt: Date): Promise<OrderStatus | null> {
    this.calls.push({ method: 'markPlaced', args: [id, placedAt] });
    if (this.stubs.markPlaced) return this.stubs.markPlaced(id, placedAt);
    return this.transition(id, ['placing'], { status: 'placed', placedAt });
  }

  async markCancelled(id: string): Promise<OrderStatus | null> {
    this.calls.push({ method: 'markCancelled', args: [id] });
    if (this.stubs.markCancelled) return this.stubs.markCancelled(id);
    return this.transition(id, ['accepted', 'placing'], { status: 'cancelled', cancelledAt: new Date() });
  }

  private transition(id: string, from: OrderStatus[], change: Partial<Order> & { status: OrderStatus }): OrderStatus | null {
    const stored = this.byId.get(id);
    if (!stored) return null;
    if (from.includes(stored.status)) Object.assign(stored, change);
    return stored.status;
  }
}

/** Temporal's side of a workflow start: each ticket recorded; `error` makes every start fail. */
export class FakePlacement implements PlacementStarter {
  readonly tickets: OrderTicket[] = [];
  error: Error | undefined;

  reset(): void {
    this.tickets.length = 0;
    this.error = undefined;
  }

  async start(ticket: OrderTicket): Promise<{ workflowId: string }> {
    this.tickets.push(structuredClone(ticket));
    if (this.error) throw this.error;
    return { workflowId: workflowIdFor(ticket.id) };
  }
}

type KeyMethod = 'claim' | 'find' | 'takeOver' | 'complete' | 'release' | 'deleteExpired';
export type KeyStore = Pick<IdempotencyRepository, KeyMethod>;

/** The idempotency_keys table in memory: a claim inserts a locked row unless the key exists. */
export class FakeKeys implements KeyStore {
  readonly rows = new Map<string, StoredKey & { orderId: string | null }>();
  readonly calls: { method: KeyMethod; args: unknown[] }[] = [];

  forAccount(_accountId: string): this {
    return this;
  }

  callsOf(method: KeyMethod): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  async claim(key: string, requestHash: string, ttlMs: number): Promise<boolean> {
    this.calls.push({ method: 'claim', args: [key, requestHash, ttlMs] });
    if (this.rows.has(key)) return false;
    const now = new Date();
    this.rows.set(key, {
      requestHash,
      orderId: null,
      responseStatus: null,
      responseBody: null,
      lockedAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
    });
    return true;
  }

  async find(key: string): Promise<StoredKey | null> {
    this.calls.push({ method: 'find', args: [key] });
    const row = this.rows.get(key);
    if (!row) return null;
    const { orderId: _orderId, ...stored } = row;
    return stored;
  }

  async takeOver(key: string, lockedAt: Date): Promise<boolean> {
    this.calls.push({ method: 'takeOver', args: [key, lockedAt] });
    const row = this.rows.get(key);
    if (!row || row.responseStatus !== null || row.lockedAt.getTime() !== lockedAt.getTime()) return false;
    row.lockedAt = new Date();
    return true;
  }

  async complete(key: string, orderId: string, status: number, body: string): Promise<void> {
    this.calls.push({ method: 'complete', args: [key, orderId, status, body] });
    const row = this.rows.get(key);
    if (row) Object.assign(row, { orderId, responseStatus: status, responseBody: body });
  }

  async release(key: string): Promise<void> {
    this.calls.push({ method: 'release', args: [key] });
    if (this.rows.get(key)?.responseStatus === null) this.rows.delete(key);
  }

  async deleteExpired(key?: string): Promise<number> {
    this.calls.push({ method: 'deleteExpired', args: [key] });
    let deleted = 0;
    for (const [name, row] of this.rows) {
      if ((key === undefined || name === key) && row.expiresAt.getTime() <= Date.now()) deleted += this.rows.delete(name) ? 1 : 0;
    }
    return deleted;
  }
}

/** Answers for the workflow probe, by order id ('absent' for any other). */
export function fakeProbe(states: Record<string, WorkflowState> = {}) {
  return async (orderId: string): Promise<WorkflowState> => states[orderId] ?? 'absent';
}

const notFaked = (what: string) => () => Promise.reject(new Error(`${what} is not faked in this test`));

/** The app over HTTP with fakes for every dependency a test does not give. */
export async function startAppWithFakes(deps: Partial<AppDeps> = {}): Promise<{ url: string; close(): Promise<void> }> {
  const cancellation: OrderCancellation = { request: notFaked('cancellation.request'), decision: notFaked('cancellation.decision') };
  const app = createApp({
    orders: new FakeOrders(),
    placement: new FakePlacement(),
    logger: createLogger('test', 'silent'),
    idempotency: { keys: new FakeKeys(), probe: fakeProbe(), ttlMs: 0, staleLockMs: 0 },
    budgets: { orderMs: 8000, cancelMs: 5000 },
    ordersQuery: { page: notFaked('ordersQuery.page') },
    executions: { page: notFaked('executions.page') },
    cancellation,
    ...deps,
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The app with fakes for a whole test file: started in beforeAll, its fakes reset before each
 * test, closed in afterAll. `post` sends a body as JSON (a string as it is: raw JSON, kept exact).
 */
export function useAppWithFakes() {
  const orders = new FakeOrders();
  const placement = new FakePlacement();
  let app: { url: string; close(): Promise<void> } | undefined;
  beforeAll(async () => {
    app = await startAppWithFakes({ orders, placement });
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    orders.reset();
    placement.reset();
  });
  const url = () => {
    if (!app) throw new Error('the app is not running (read it inside a test or hook)');
    return app.url;
  };
  return {
    orders,
    placement,
    url,
    post: (body: unknown, headers?: Record<string, string>) => postJson(`${url()}/orders`, body, headers),
  };
}
