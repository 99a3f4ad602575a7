import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument, ORDER_STATUS_DESCRIPTIONS } from '../../api/openapi.js';
import {
  type Actor,
  CANCELLABLE_STATUSES,
  CLAIMABLE_STATUSES,
  FINAL_STATUSES,
  isAllowedTransition,
  isFinal,
  ORDER_STATUSES,
  type OrderStatus,
  STARTED_STATUSES,
  TRANSITIONS,
} from '../../domain/order.js';
import { createPrismaClient, type PrismaClient } from '../../prisma/client.js';
import { OrdersRepository } from '../../prisma/orders-repository.js';
import { PlacementStore } from '../../prisma/placement-store.js';
import { testConfig } from '../support/config.js';

// The lifecycle table (domain/order.ts TRANSITIONS) is the one statement of which status changes
// exist. These tests hold the repository's conditional UPDATEs, the workflow's final set and the
// OpenAPI document to it: a change to either side alone fails here.

const config = testConfig();
let db: PrismaClient;
let repository: OrdersRepository;
let pool: pg.Pool;
let placement: PlacementStore;

beforeAll(() => {
  db = createPrismaClient({ url: config.DATABASE_URL, poolSize: 4, connectTimeoutMs: 5_000, queryTimeoutMs: 10_000 });
  repository = new OrdersRepository(db);
  pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  placement = new PlacementStore(pool);
});

afterAll(async () => {
  await db?.$disconnect();
  await pool?.end();
});

/**
 * Every status change the repository can make, by the status it makes and the actor it makes it
 * for. The ingestion process's changes (the venue's reports) are its own statements, held to the
 * table by test/unit/fills.test.ts.
 */
const REPOSITORY_TRANSITIONS: Record<string, { to: OrderStatus; by: Actor; run: (id: string) => Promise<OrderStatus | null> }> = {
  accept: { to: 'accepted', by: 'api', run: (id) => repository.accept(id) },
  rejectIfPending: { to: 'rejected', by: 'api', run: (id) => repository.rejectIfPending(id, 'lifecycle test') },
  claimForPlacement: { to: 'placing', by: 'workflow', run: (id) => repository.claimForPlacement(id) },
  markCancelled: { to: 'cancelled', by: 'workflow', run: (id) => repository.markCancelled(id) },
  markPlaced: { to: 'placed', by: 'workflow', run: (id) => repository.markPlaced(id, new Date()) },
};

/** An order in `status`, written directly (the repository cannot reach every status from every other). */
async function orderIn(status: OrderStatus): Promise<string> {
  const order = await repository.create({
    type: 'market',
    side: 'buy',
    instrument: 'LIFECYCLE001',
    limitPrice: null,
    quantity: 1,
    timeInForce: 'day',
  });
  if (status !== 'pending') await db.order.update({ where: { id: order.id }, data: { status } });
  return order.id;
}

describe('the repository makes exactly the transitions of the table', () => {
  for (const [method, { to, by, run }] of Object.entries(REPOSITORY_TRANSITIONS)) {
    it(`${method}: -> ${to} from each status the table allows ${by}, and from no other`, async () => {
      for (const from of ORDER_STATUSES) {
        const id = await orderIn(from);
        const allowed = isAllowedTransition(from, to, by);
        const expected = allowed ? to : from;
        expect(await run(id), `${method} from ${from}`).toBe(expected);
        const stored = await db.order.findUniqueOrThrow({ where: { id }, select: { status: true } });
        expect(stored.status, `${method} from ${from}`).toBe(expected);
      }
      expect(await run(randomUUID())).toBeNull();
    });
  }

  it('has a method for every change the table gives the API, the workflow and the sweep', () => {
    const made = new Set(Object.values(REPOSITORY_TRANSITIONS).map(({ to, by }) => `${to} by ${by}`));
    const missing = TRANSITIONS.filter(
      ({ to, by }) => by.some((actor) => actor !== 'ingest') && !by.some((actor) => made.has(`${to} by ${actor}`)),
    );
    expect(missing).toEqual([]);
    expect(made.size).toBe(Object.keys(REPOSITORY_TRANSITIONS).length);
  });
});

// The worker's own statements for the workflow's changes (node-postgres, prepared), held to the
// same table as the repository's: the same status after each, from every status.
const PLACEMENT_STORE_TRANSITIONS: Record<string, { to: OrderStatus; run: (id: string) => Promise<OrderStatus | null> }> = {
  claimForPlacement: { to: 'placing', run: (id) => placement.claimForPlacement(id) },
  markCancelled: { to: 'cancelled', run: (id) => placement.markCancelled(id) },
  markPlaced: { to: 'placed', run: (id) => placement.markPlaced(id, new Date()) },
};

describe("the worker's placement store makes the workflow's transitions of the table, as the repository does", () => {
  for (const [method, { to, run }] of Object.entries(PLACEMENT_STORE_TRANSITIONS)) {
    it(`${method}: -> ${to} from each status the table allows the workflow, and from no other`, async () => {
      for (const from of ORDER_STATUSES) {
        const id = await orderIn(from);
        const expected = isAllowedTransition(from, to, 'workflow') ? to : from;
        expect(await run(id), `${method} from ${from}`).toBe(expected);
        const stored = await db.order.findUniqueOrThrow({ where: { id }, select: { status: true, statusActor: true } });
        expect(stored.status, `${method} from ${from}`).toBe(expected);
        if (expected !== from) expect(stored.statusActor).toBe('system');
      }
      expect(await run(randomUUID())).toBeNull();
    });
  }

  it('markPlaced of an order the venue moved on fills in its times where empty, its status and events untouched', async () => {
    const placedAt = new Date('2026-01-05T09:30:01.000Z');
    const expiresAt = new Date('2026-01-05T21:00:00.000Z');
    for (const from of ['placed', 'partially_filled', 'filled'] as const) {
      const id = await orderIn(from);
      const events = () => db.orderEvent.count({ where: { orderId: id } });
      const eventsBefore = await events();
      expect(await placement.markPlaced(id, placedAt, expiresAt)).toBe(from);
      expect(await db.order.findUniqueOrThrow({ where: { id }, select: { status: true, placedAt: true, expiresAt: true } })).toEqual({
        status: from,
        placedAt,
        expiresAt,
      });
      // Once filled in, a later time does not replace them.
      expect(await placement.markPlaced(id, new Date(), new Date())).toBe(from);
      expect(await db.order.findUniqueOrThrow({ where: { id }, select: { placedAt: true, expiresAt: true } })).toEqual({
        placedAt,
        expiresAt,
      });
      expect(await events()).toBe(eventsBefore);
    }
  });

  it('markPlaced of a placing order records its placement time and expiry', async () => {
    const id = await orderIn('placing');
    const placedAt = new Date('2026-01-05T09:30:01.000Z');
    const expiresAt = new Date('2026-01-05T21:00:00.000Z');
    expect(await placement.markPlaced(id, placedAt, expiresAt)).toBe('placed');
    expect(await db.order.findUniqueOrThrow({ where: { id }, select: { placedAt: true, expiresAt: true } })).toEqual({
      placedAt,
      expiresAt,
    });
  });
});

describe('the status sets follow from the table', () => {
  it('final: exactly the statuses no transition leaves (the workflow ends on these)', () => {
    const leaves = new Set(TRANSITIONS.map(({ from }) => from));
    expect([...FINAL_STATUSES].sort()).toEqual(ORDER_STATUSES.filter((status) => !leaves.has(status)).sort());
    for (const status of ORDER_STATUSES) expect(isFinal(status), status).toBe(!leaves.has(status));
  });

  it("claimable: the statuses the workflow's claim moves to placing; cancellable: every status but a final one", () => {
    expect([...CLAIMABLE_STATUSES].sort()).toEqual(['accepted', 'pending']);
    expect([...CANCELLABLE_STATUSES].sort()).toEqual(['accepted', 'partially_filled', 'pending', 'placed', 'placing']);
  });

  // `rejected` is reachable too (a venue's rejection after placement), but a rejected order is
  // one whose placement is not guaranteed: the API's fence answers 500 for it.
  it('started: accepted and every status reachable from it, but rejected', () => {
    const reachable = new Set<OrderStatus>(['accepted']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const { from, to } of TRANSITIONS) {
        if (reachable.has(from) && !reachable.has(to)) {
          reachable.add(to);
          grew = true;
        }
      }
    }
    reachable.delete('rejected');
    expect([...STARTED_STATUSES].sort()).toEqual([...reachable].sort());
  });
});

describe('the OpenAPI document is generated from the table', () => {
  const schema = buildOpenApiDocument().components.schemas.OrderStatus as { enum: string[]; description: string };

  it('lists every status, each with its meaning, final ones marked final', () => {
    expect(schema.enum).toEqual([...ORDER_STATUSES]);
    for (const status of ORDER_STATUSES) {
      expect(schema.description).toContain(`\`${status}\`: ${ORDER_STATUS_DESCRIPTIONS[status]}.`);
      expect(ORDER_STATUS_DESCRIPTIONS[status].endsWith('. Final'), status).toBe(isFinal(status));
    }
  });

  it('documents every transition with who makes it, and no other', () => {
    const documented = [...schema.description.matchAll(/`(\w+) → (\w+)` by ([\w ]+)/g)].map(([, from, to, by]) => ({
      from,
      to,
      by: by?.split(' or '),
    }));
    expect(documented).toEqual(TRANSITIONS.map(({ from, to, by }) => ({ from, to, by: [...by] })));
  });
});
