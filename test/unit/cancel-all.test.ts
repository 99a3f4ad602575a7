import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { type CancelAllDeps, cancelAllOrders } from '../../api/cancel-all.js';
import { parseCancelAllQuery } from '../../api/cancel-all-query.js';
import { cancelAllAnswer } from '../../api/cancel-all-response.js';
import { CancelNotRecordedError, RequestValidationError } from '../../api/errors.js';
import type { CancelOutcome, OrderCancellation } from '../../api/placement-client.js';
import type { FinalStatus, Order, OrderStatus } from '../../domain/order.js';
import type { OrderListFilters } from '../../prisma/orders-query.js';
import { FakeOrders } from '../support/fakes.js';
import { storedOrder } from '../support/orders.js';

// cancelAllOrders alone, over an in-memory order store and a fake of the orders' workflows: each
// open order of the caller's account is asked once, through the cancel of DELETE /orders/:id,
// at most `concurrency` Temporal calls at once, all asked before any decision is awaited; each
// lands in exactly one list of the answer.

const ACCOUNT = '11111111-1111-4111-8111-111111111111';
const OTHER_ACCOUNT = '22222222-2222-4222-8222-222222222222';
const KEY_ID = 'key_abc';

/** How a fake workflow takes a cancel: it ends in a status, never decides in time, is gone, or cannot be reached. */
type WorkflowBehaviour = { ends: FinalStatus } | 'slow' | 'absent' | 'unreachable';

/** The orders' workflows: each order's behaviour (default: the cancel wins), with every call recorded. */
class FakeWorkflows implements OrderCancellation {
  readonly behaviours = new Map<string, WorkflowBehaviour>();
  readonly calls: { kind: 'request' | 'decision'; orderId: string }[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly orders: FakeOrders) {}

  private async call<T>(kind: 'request' | 'decision', orderId: string, run: () => T): Promise<T> {
    this.calls.push({ kind, orderId });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return run();
    } finally {
      this.inFlight -= 1;
    }
  }

  async request(orderId: string): Promise<boolean> {
    return this.call('request', orderId, () => {
      const behaviour = this.behaviours.get(orderId);
      if (behaviour === 'unreachable') throw new Error('Temporal unreachable');
      return behaviour !== 'absent';
    });
  }

  async decision(orderId: string): Promise<CancelOutcome> {
    return this.call('decision', orderId, () => {
      const behaviour = this.behaviours.get(orderId) ?? { ends: 'cancelled' };
      if (typeof behaviour !== 'object') return { decided: false };
      // The workflow's end is written to the database before the workflow ends.
      const stored = this.orders.byId.get(orderId);
      if (stored) stored.status = behaviour.ends;
      return { decided: true, status: behaviour.ends };
    });
  }
}

const orders = new FakeOrders();
const workflows = new FakeWorkflows(orders);
const cancelRequests: [string, string][] = [];
const queries: { filters: OrderListFilters; pageSize: number }[] = [];

/** GET /orders' query over the fake store: the filters this path uses, newest first. */
const ordersQuery: CancelAllDeps['ordersQuery'] = {
  async page(filters, pageSize) {
    queries.push({ filters, pageSize });
    const matching = [...orders.byId.values()]
      .filter((order) => filters.accountId === undefined || order.accountId === filters.accountId)
      .filter((order) => filters.statuses === undefined || filters.statuses.includes(order.status))
      .filter((order) => filters.instrument === undefined || order.instrument === filters.instrument)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    return { orders: matching.slice(0, pageSize), more: matching.length > pageSize };
  },
};

const deps: CancelAllDeps = { orders, cancellation: workflows, ordersQuery, budgetMs: 5000, maxOrders: 500, concurrency: 4 };

beforeEach(() => {
  orders.reset();
  workflows.behaviours.clear();
  workflows.calls.length = 0;
  workflows.maxInFlight = 0;
  cancelRequests.length = 0;
  queries.length = 0;
  orders.recordCancelRequest = async (id, actor) => {
    cancelRequests.push([id, actor]);
  };
});

let clock = 0;
function put(status: OrderStatus, fields: Partial<Order> = {}): Order {
  clock += 1;
  return orders.put(storedOrder({}, { id: randomUUID(), accountId: ACCOUNT, status, createdAt: new Date(clock * 1000), ...fields }));
}
const putOpen = (count: number, fields: Partial<Order> = {}) => Array.from({ length: count }, () => put('placed', fields).id);
const cancelAll = (overrides: Partial<CancelAllDeps> = {}, instrument?: string) =>
  cancelAllOrders({ ...deps, ...overrides }, { accountId: ACCOUNT, keyId: KEY_ID, ...(instrument && { instrument }) });

describe('cancelAllOrders', () => {
  it("cancels every open order of the account, each asked once, through DELETE /orders/:id's cancel", async () => {
    const open = putOpen(30);
    const accepted = put('accepted').id;
    put('filled');
    put('cancelled');
    const foreign = put('placed', { accountId: OTHER_ACCOUNT }).id;

    const result = await cancelAll();

    expect(result.cancelled.sort()).toEqual([...open, accepted].sort());
    expect(result).toMatchObject({ notCancelled: [], pending: [], hasMore: false });
    // Only open statuses of the caller's account were listed.
    expect(queries).toEqual([
      { filters: { accountId: ACCOUNT, statuses: ['pending', 'accepted', 'placing', 'placed', 'partially_filled'] }, pageSize: 500 },
    ]);
    // One signal and one wait per order, the key that asked recorded on each.
    const requested = workflows.calls.filter((call) => call.kind === 'request').map((call) => call.orderId);
    expect(requested.sort()).toEqual([...open, accepted].sort());
    expect(new Set(requested).size).toBe(requested.length);
    expect(cancelRequests.map(([id]) => id).sort()).toEqual(requested.sort());
    expect(cancelRequests.every(([, actor]) => actor === KEY_ID)).toBe(true);
    expect(workflows.calls.some((call) => call.orderId === foreign)).toBe(false);
    expect(orders.byId.get(foreign)?.status).toBe('placed');
  });

  it('records every cancel before it awaits the first decision, at most `concurrency` Temporal calls at once', async () => {
    putOpen(50);
    await cancelAll({ concurrency: 4 });
    const kinds = workflows.calls.map((call) => call.kind);
    expect(kinds.lastIndexOf('request')).toBeLessThan(kinds.indexOf('decision'));
    expect(kinds.filter((kind) => kind === 'decision')).toHaveLength(50);
    expect(workflows.maxInFlight).toBe(4);
  });

  it('lists an order that ended otherwise first as not cancelled, with why', async () => {
    const [filled, expired, cancelled] = putOpen(3);
    workflows.behaviours.set(filled!, { ends: 'filled' });
    workflows.behaviours.set(expired!, { ends: 'expired' });
    const result = await cancelAll();
    expect(result.cancelled).toEqual([cancelled]);
    expect(result.notCancelled).toEqual([
      { id: expired, reason: expect.stringMatching(/^it is expired/) },
      { id: filled, reason: expect.stringMatching(/^it is filled/) },
    ]);
  });

  it('lists an order without a running workflow (its request not started it) as not cancelled, as DELETE /orders/:id answers 409', async () => {
    const pending = put('pending').id;
    workflows.behaviours.set(pending, 'absent');
    const result = await cancelAll();
    expect(result.notCancelled).toEqual([{ id: pending, reason: expect.stringMatching(/^it is pending: no workflow/) }]);
    expect(workflows.calls.filter((call) => call.kind === 'decision')).toEqual([]);
  });

  it('lists an order whose decision did not come within the budget as pending (the answer is 202)', async () => {
    const [slow, quick] = putOpen(2);
    workflows.behaviours.set(slow!, 'slow');
    const result = await cancelAll();
    expect(result).toEqual({ cancelled: [quick], notCancelled: [], pending: [slow], hasMore: false });
    expect(cancelAllAnswer(result).status).toBe(202);
    expect(JSON.parse(cancelAllAnswer(result).body)).toEqual({ cancelled: [quick], not_cancelled: [], pending: [slow], has_more: false });
  });

  it('counts an order final in the database as decided, whatever the workflow said (the database is written first)', async () => {
    const [id] = putOpen(1);
    workflows.behaviours.set(id!, 'slow');
    workflows.decision = async (orderId) => {
      orders.byId.get(orderId)!.status = 'cancelled';
      return { decided: false };
    };
    try {
      expect(await cancelAll()).toMatchObject({ cancelled: [id], pending: [] });
    } finally {
      workflows.decision = FakeWorkflows.prototype.decision.bind(workflows);
    }
  });

  it('cancels only the instrument asked for', async () => {
    const apple = putOpen(3, { instrument: 'US0378331005' });
    putOpen(2, { instrument: 'DE0007164600' });
    const result = await cancelAll({}, 'US0378331005');
    expect(result.cancelled.sort()).toEqual(apple.sort());
    expect(queries[0]?.filters.instrument).toBe('US0378331005');
  });

  it('asks at most maxOrders (newest first) and says more remain', async () => {
    const open = putOpen(7);
    const result = await cancelAll({ maxOrders: 5 });
    expect(result.cancelled).toEqual(open.slice(2).reverse());
    expect(result.hasMore).toBe(true);
    expect(queries[0]?.pageSize).toBe(5);
    // The next call gets the rest.
    expect(await cancelAll({ maxOrders: 5 })).toEqual({
      cancelled: open.slice(0, 2).reverse(),
      notCancelled: [],
      pending: [],
      hasMore: false,
    });
  });

  it('leaves an order whose cancel could not be recorded unlisted, for the next call (has_more)', async () => {
    const [unreachable, reached] = putOpen(2);
    workflows.behaviours.set(unreachable!, 'unreachable');
    const result = await cancelAll();
    expect(result).toEqual({ cancelled: [reached], notCancelled: [], pending: [], hasMore: true });
    expect(orders.byId.get(unreachable!)?.status).toBe('placed');
  });

  it('throws CancelNotRecordedError (500) when not one cancel could be recorded', async () => {
    for (const id of putOpen(3)) workflows.behaviours.set(id, 'unreachable');
    await expect(cancelAll()).rejects.toBeInstanceOf(CancelNotRecordedError);
  });

  it('answers 200 with empty lists when nothing is open', async () => {
    put('filled');
    const result = await cancelAll();
    expect(result).toEqual({ cancelled: [], notCancelled: [], pending: [], hasMore: false });
    expect(cancelAllAnswer(result)).toEqual({ status: 200, body: '{"cancelled":[],"not_cancelled":[],"pending":[],"has_more":false}' });
    expect(workflows.calls).toEqual([]);
  });

  it('asks nothing more once the budget is spent: those orders are left for the next call', async () => {
    putOpen(3);
    const result = await cancelAll({ budgetMs: 0 }).catch((error: unknown) => error);
    // Not one asked: as Temporal unreachable, nothing was done.
    expect(result).toBeInstanceOf(CancelNotRecordedError);
    expect(workflows.calls).toEqual([]);
  });
});

describe("DELETE /orders' query", () => {
  const problems = (query: Record<string, string | string[]>) => {
    try {
      parseCancelAllQuery(query);
      return [];
    } catch (error) {
      expect(error).toBeInstanceOf(RequestValidationError);
      return (error as RequestValidationError).detail;
    }
  };

  it('takes an instrument, or nothing', () => {
    expect(parseCancelAllQuery({})).toEqual({});
    expect(parseCancelAllQuery({ instrument: 'US0378331005' })).toEqual({ instrument: 'US0378331005' });
  });

  it('refuses a bad instrument, a repeated one and unknown parameters, naming each (as GET /orders)', () => {
    expect(problems({ instrument: 'US037' })).toEqual([
      { loc: ['query', 'instrument'], msg: 'String should have exactly 12 characters', type: 'string_length' },
    ]);
    expect(problems({ instrument: ['US0378331005', 'US0378331005'] })).toEqual([
      { loc: ['query', 'instrument'], msg: 'Parameter should be given once', type: 'value_error' },
    ]);
    expect(problems({ instrument: 'US037833100\u0000' })[0]).toMatchObject({
      loc: ['query', 'instrument'],
      type: 'string_control_character',
    });
    expect(problems({ status: 'placed', limit: '5' })).toEqual([
      { loc: ['query', 'status'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
      { loc: ['query', 'limit'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
    ]);
  });
});
