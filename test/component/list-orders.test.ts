import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderJson } from '../../api/order-response.js';
import { type ApiServer, startApiServer } from '../../api/server.js';
import { createLogger } from '../../config/logger.js';
import { ORDER_STATUSES, type Order, type OrderSide, type OrderStatus, type OrderType } from '../../domain/order.js';
import { createPrismaClient, type PrismaClient } from '../../prisma/client.js';
import { Prisma } from '../../prisma/generated/client.js';
import { listOrdersSql, type OrderListQuery } from '../../prisma/orders-query.js';
import { OrdersRepository } from '../../prisma/orders-repository.js';
import { testConfig } from '../support/config.js';
import { type JsonResponse, request } from '../support/http.js';
import { uniqueInstrument } from '../support/orders.js';

// GET /orders against the suite's real PostgreSQL. The database is shared with test files running
// in parallel, so every assertion is scoped to this file's own rows: a unique instrument per test,
// or a unique window of created_at in the past. Seeded orders are never `pending`, which the
// stale-order sweep of other files' workers would turn into `rejected` under our feet.
// (The statement timeout is raised for the EXPLAIN test, which inserts 5,000 rows and ANALYZEs.)
const config = testConfig({ DB_QUERY_TIMEOUT_MS: '60000' });
let api: ApiServer;
let db: PrismaClient;
let repository: OrdersRepository;

beforeAll(async () => {
  api = await startApiServer(config, createLogger('api', 'silent'));
  db = createPrismaClient({ url: config.DATABASE_URL, poolSize: 4, connectTimeoutMs: 5_000, queryTimeoutMs: 60_000 });
  repository = new OrdersRepository(db);
});

afterAll(async () => {
  await api?.close();
  await db?.$disconnect();
});

// ---- helpers -----------------------------------------------------------------------------------

function list(query: string): Promise<JsonResponse> {
  return request(`${api.url}/orders${query === '' ? '' : `?${query}`}`);
}

interface OrderBody {
  id: string;
  created_at: string;
  instrument: string;
  status: OrderStatus;
  side: OrderSide;
  type: OrderType;
}

/** Follows `next` from the first page to the last; returns every page's body. */
async function walk(query: string, onPage?: () => Promise<void>): Promise<{ data: OrderBody[]; next: string | null }[]> {
  const pages: { data: OrderBody[]; next: string | null }[] = [];
  let next: string | null = null;
  do {
    const response = await list(next === null ? query : `${query}&cursor=${encodeURIComponent(next)}`);
    expect(response.status, response.text).toBe(200);
    pages.push(response.body);
    next = response.body.next;
    expect(pages.length).toBeLessThan(1_000); // a cursor that never ends would loop forever
    await onPage?.();
  } while (next !== null);
  return pages;
}

interface Seed {
  instrument: string;
  createdAt: Date;
  status?: OrderStatus;
  side?: OrderSide;
  type?: OrderType;
  limitPrice?: string | null;
  quantity?: number;
}

/** Inserts orders as they are (status, created_at included); returns them as the service reads them. */
async function seed(rows: Seed[]): Promise<Order[]> {
  const created = await db.order.createManyAndReturn({
    data: rows.map((row) => {
      const type = row.type ?? 'limit';
      return {
        instrument: row.instrument,
        createdAt: row.createdAt,
        status: row.status ?? 'accepted',
        side: row.side ?? 'buy',
        type,
        limitPrice: type === 'market' ? null : (row.limitPrice ?? '101.25'),
        quantity: row.quantity ?? 1,
      };
    }),
  });
  const repository = new OrdersRepository(db);
  return Promise.all(created.map(async (row) => (await repository.find(row.id))!));
}

/** (created_at, id) descending, as PostgreSQL orders them (uuid order = order of the lowercase hex text). */
function newestFirst<T extends { createdAt: Date; id: string }>(orders: T[]): T[] {
  return [...orders].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function isNewerThan(a: OrderBody, b: OrderBody): boolean {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  return ta > tb || (ta === tb && a.id > b.id);
}

/** `date` written with the given UTC offset in minutes, e.g. 2001-03-04T07:05:06.789+02:00. */
function withOffset(date: Date, offsetMinutes: number): string {
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const ids = (orders: { id: string }[]) => orders.map((order) => order.id);
const locs = (response: JsonResponse) => (response.body.detail as { loc: string[] }[]).map((detail) => detail.loc.join('.'));

// ---- tests -------------------------------------------------------------------------------------

describe('GET /orders: keyset pagination', () => {
  it('walks every order that existed at the start exactly once while orders keep being created', async () => {
    const instrument = uniqueInstrument('PG');
    // 120 orders in groups of 5 with the same created_at, so pages of 7 end inside ties.
    const base = Date.now() - 3_600_000;
    const existing = await seed(
      Array.from({ length: 120 }, (_, i) => ({
        instrument,
        createdAt: new Date(base + Math.floor(i / 5) * 1_000),
        status: 'placed' as const,
      })),
    );

    // New orders of the same instrument: through the repository (created_at = now(), as
    // POST /orders creates them) and back-dated into the middle of the range being walked, which
    // is where OFFSET pagination would repeat or skip rows.
    let created = 0;
    const createOne = async () => {
      await repository.create({ type: 'market', side: 'sell', instrument, limitPrice: null, quantity: 1, timeInForce: 'day' });
      await seed([{ instrument, createdAt: new Date(base + randomInt(24) * 1_000), status: 'accepted' }]);
      created += 2;
    };
    let walking = true;
    const background = (async () => {
      while (walking) await createOne();
    })();

    let pages: { data: OrderBody[]; next: string | null }[];
    try {
      // Between two pages at least one more round of inserts lands, whatever the scheduling.
      pages = await walk(`instrument=${instrument}&limit=7`, createOne);
    } finally {
      walking = false;
      await background;
    }

    const seen = pages.flatMap((page) => page.data);
    expect(new Set(ids(seen)).size).toBe(seen.length); // no order twice, new ones included
    for (let i = 1; i < seen.length; i++) expect(isNewerThan(seen[i - 1]!, seen[i]!)).toBe(true);
    expect(seen.every((order) => order.instrument === instrument)).toBe(true);
    const seenIds = new Set(ids(seen));
    expect(existing.filter((order) => !seenIds.has(order.id))).toEqual([]); // none skipped
    expect(pages.slice(0, -1).every((page) => page.data.length === 7)).toBe(true);
    expect(pages.at(-1)!.next).toBeNull();
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(120 / 7));
    expect(created).toBeGreaterThanOrEqual(2 * pages.length);
  });
});

describe('GET /orders: filters', () => {
  // Two instruments in a window of created_at of this run's own, in 1990–2019.
  const instrumentA = uniqueInstrument('FA');
  const instrumentB = uniqueInstrument('FB');
  const windowStart = Date.UTC(1990 + randomInt(30), randomInt(12), 1 + randomInt(28), randomInt(24), randomInt(60));
  const statuses: OrderStatus[] = ['accepted', 'placing', 'placed', 'rejected', 'cancelled']; // no 'pending', see above
  const prices = ['0.10', '187.25', '5.00', '12345678901234.99'];
  let seeded: Order[];
  const from = () => new Date(windowStart).toISOString();
  const to = () => new Date(windowStart + 3_600_000).toISOString();
  const inWindow = `created_from=${from()}&created_to=${to()}`;

  beforeAll(async () => {
    // 48 orders, several sharing a created_at (every 3), over every combination of the filters.
    seeded = await seed(
      Array.from({ length: 48 }, (_, i) => ({
        instrument: i % 4 === 0 ? instrumentB : instrumentA,
        createdAt: new Date(windowStart + Math.floor(i / 3) * 60_000 + 7),
        status: statuses[i % statuses.length]!,
        side: i % 2 === 0 ? ('buy' as const) : ('sell' as const),
        type: i % 3 === 0 ? ('market' as const) : ('limit' as const),
        limitPrice: prices[Math.floor(i / 4) % prices.length]!,
        quantity: i + 1,
      })),
    );
  });

  const expected = (keep: (order: Order) => boolean) => newestFirst(seeded.filter(keep));

  async function expectListed(query: string, keep: (order: Order) => boolean, pageSize = 5) {
    const want = expected(keep);
    expect(want.length).toBeGreaterThan(0);
    const pages = await walk(`${query}&limit=${pageSize}`);
    expect(ids(pages.flatMap((page) => page.data))).toEqual(ids(want));
    expect(pages.length).toBe(Math.max(1, Math.ceil(want.length / pageSize)));
    expect(pages.at(-1)!.next).toBeNull();
    // One page holding them all: exactly the orders as orderJson writes them, next null.
    const single = await list(`${query}&limit=500`);
    expect(single.text).toBe(`{"data":[${want.map((order) => orderJson(order)).join(',')}],"next":null}`);
  }

  it('filters by instrument', async () => {
    await expectListed(`instrument=${instrumentA}`, (o) => o.instrument === instrumentA);
    await expectListed(`instrument=${instrumentB}`, (o) => o.instrument === instrumentB, 4);
  });

  it('filters by one status, and by several given repeated, comma-separated or both', async () => {
    await expectListed(`instrument=${instrumentA}&status=placed`, (o) => o.instrument === instrumentA && o.status === 'placed', 2);
    const several = (o: Order) => o.instrument === instrumentA && ['placed', 'rejected', 'cancelled'].includes(o.status);
    await expectListed(`instrument=${instrumentA}&status=placed&status=rejected&status=cancelled`, several);
    await expectListed(`instrument=${instrumentA}&status=rejected,placed,cancelled`, several);
    await expectListed(`instrument=${instrumentA}&status=cancelled&status=placed,rejected&status=placed`, several);
    // Without an instrument: the several-statuses statement (one index scan per status).
    await expectListed(`${inWindow}&status=placing,cancelled`, (o) => ['placing', 'cancelled'].includes(o.status), 3);
    await expectListed(`${inWindow}&status=accepted`, (o) => o.status === 'accepted', 3);
  });

  it('filters by side and by type', async () => {
    await expectListed(`${inWindow}&side=sell`, (o) => o.side === 'sell');
    await expectListed(`${inWindow}&type=market`, (o) => o.type === 'market');
    await expectListed(
      `instrument=${instrumentB}&side=buy&type=limit`,
      (o) => o.instrument === instrumentB && o.side === 'buy' && o.type === 'limit',
      1,
    );
  });

  it('filters by created_at: created_from inclusive, created_to exclusive, any offset', async () => {
    await expectListed(inWindow, () => true, 7);
    // Bounds equal to orders' created_at: the one at created_from is in, the one at created_to out.
    const lower = new Date(windowStart + 3 * 60_000 + 7);
    const upper = new Date(windowStart + 9 * 60_000 + 7);
    const between = (o: Order) => o.createdAt >= lower && o.createdAt < upper;
    await expectListed(`created_from=${lower.toISOString()}&created_to=${upper.toISOString()}`, between, 4);
    // The same instants written with offsets (and microseconds): the same orders.
    const fromText = encodeURIComponent(withOffset(lower, 120).replace(/(\.\d{3})/, '$1000'));
    const toText = encodeURIComponent(withOffset(upper, -330));
    await expectListed(`created_from=${fromText}&created_to=${toText}`, between, 4);
    // One microsecond after an order's created_at leaves it out.
    const later = encodeURIComponent(lower.toISOString().replace('Z', '001Z'));
    await expectListed(`created_from=${later}&created_to=${upper.toISOString()}`, (o) => o.createdAt > lower && o.createdAt < upper, 4);
    // An empty range is no error.
    const empty = await list(`created_from=${lower.toISOString()}&created_to=${lower.toISOString()}`);
    expect(empty.text).toBe('{"data":[],"next":null}');
  });

  it('combines every filter', async () => {
    const keep = (o: Order) =>
      o.instrument === instrumentA && ['accepted', 'placed', 'cancelled'].includes(o.status) && o.side === 'sell' && o.type === 'limit';
    await expectListed(`${inWindow}&instrument=${instrumentA}&status=accepted,placed&status=cancelled&side=sell&type=limit`, keep, 1);
  });

  it('writes each limit_price as its exact decimal token, and an empty page for no match', async () => {
    const response = await list(`instrument=${instrumentA}&limit=500`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.text).toContain('"limit_price":0.10');
    expect(response.text).toContain('"limit_price":5.00');
    expect(response.text).toContain('"limit_price":12345678901234.99');
    const none = await list(`instrument=${uniqueInstrument('NO')}`);
    expect(none.status).toBe(200);
    expect(none.text).toBe('{"data":[],"next":null}');
  });

  it('refuses a cursor used with other filters than its own', async () => {
    const first = await list(`instrument=${instrumentA}&limit=2`);
    const cursor = encodeURIComponent(first.body.next);
    expect((await list(`instrument=${instrumentA}&limit=3&cursor=${cursor}`)).status).toBe(200); // another limit is fine
    expect((await list(`instrument=${instrumentA}&status=placed&limit=2&cursor=${cursor}`)).status).toBe(422);
    const other = await list(`instrument=${instrumentB}&limit=2&cursor=${cursor}`);
    expect(other.status).toBe(422);
    expect(locs(other)).toEqual(['query.cursor']);
    // The same filters written differently are the same filters.
    const byStatus = await list(`${inWindow}&status=placed,rejected&limit=2`);
    const reordered = `created_to=${encodeURIComponent(withOffset(new Date(windowStart + 3_600_000), 60))}&created_from=${from()}`;
    const again = await list(`${reordered}&status=rejected&status=placed&limit=2&cursor=${encodeURIComponent(byStatus.body.next)}`);
    expect(again.status, again.text).toBe(200);
  });
});

describe('GET /orders: limit', () => {
  it('answers 50 orders by default and up to 500 on request', async () => {
    const instrument = uniqueInstrument('LM');
    const base = Date.now() - 7_200_000;
    await seed(Array.from({ length: 60 }, (_, i) => ({ instrument, createdAt: new Date(base + (i % 10)), status: 'placed' as const })));

    const first = await list(`instrument=${instrument}`);
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(50);
    expect(first.body.next).toEqual(expect.any(String));
    const rest = await list(`instrument=${instrument}&cursor=${encodeURIComponent(first.body.next)}`);
    expect(rest.body.data).toHaveLength(10);
    expect(rest.body.next).toBeNull();

    const all = await list(`instrument=${instrument}&limit=500`);
    expect(all.body.data).toHaveLength(60);
    expect(all.body.next).toBeNull();
    const exact = await list(`instrument=${instrument}&limit=60`);
    expect(exact.body.data).toHaveLength(60);
    expect(exact.body.next).toBeNull(); // no "next" that would lead to an empty page
    const one = await list(`instrument=${instrument}&limit=1`);
    expect(one.body.data).toHaveLength(1);
    expect(one.body.next).toEqual(expect.any(String));
  });
});

describe('GET /orders: bad parameters', () => {
  const cases: [string, string, string][] = [
    ['limit=0', 'query.limit', 'greater_than_equal'],
    ['limit=-3', 'query.limit', 'greater_than_equal'],
    ['limit=501', 'query.limit', 'less_than_equal'],
    ['limit=abc', 'query.limit', 'int_parsing'],
    ['limit=2.5', 'query.limit', 'int_parsing'],
    ['limit=', 'query.limit', 'int_parsing'],
    ['limit=5&limit=6', 'query.limit', 'value_error'],
    ['status=bogus', 'query.status', 'enum'],
    ['status=placed,bogus', 'query.status', 'enum'],
    ['status=placed&status=', 'query.status', 'enum'],
    ['instrument=US037833100', 'query.instrument', 'string_length'],
    ['instrument=US03783310055', 'query.instrument', 'string_length'],
    ['side=both', 'query.side', 'enum'],
    ['type=stop_market', 'query.type', 'enum'],
    ['created_from=yesterday', 'query.created_from', 'datetime_parsing'],
    ['created_from=2026-02-30T00:00:00Z', 'query.created_from', 'datetime_parsing'],
    ['created_to=2026-11-23', 'query.created_to', 'datetime_parsing'],
    ['created_to=2026-11-23T10:00:00', 'query.created_to', 'datetime_parsing'], // no time zone
    ['created_from=2026-11-23T10:00:00Z&created_to=2026-11-23T09:59:59.999Z', 'query.created_from', 'value_error'],
    ['created_from=2026-11-23T10:00:00.000001Z&created_to=2026-11-23T10:00:00Z', 'query.created_from', 'value_error'],
    ['limitt=5', 'query.limitt', 'extra_forbidden'],
    ['offset=10', 'query.offset', 'extra_forbidden'],
    ['cursor=', 'query.cursor', 'value_error'],
    ['cursor=not%20a%20cursor', 'query.cursor', 'value_error'],
    [`cursor=${Buffer.from('{"id":1}').toString('base64url')}`, 'query.cursor', 'value_error'],
    [
      `cursor=${Buffer.from('[1,"2026-11-23T10:00:00.000Z","00000000-0000-4000-8000-000000000000","x"]').toString('base64url')}`,
      'query.cursor',
      'value_error',
    ],
  ];

  it.each(cases)('%s answers 422 naming %s', async (query, loc, type) => {
    const response = await list(query);
    expect(response.status, response.text).toBe(422);
    expect(response.body.detail).toEqual([{ loc: loc.split('.'), msg: expect.any(String), type }]);
  });

  it('names every bad parameter of one request', async () => {
    const response = await list('limit=0&status=bogus&instrument=SHORT&side=x&type=y&created_from=z&created_to=w&cursor=%21&page=2');
    expect(response.status).toBe(422);
    expect(locs(response).sort()).toEqual(
      [
        'query.limit',
        'query.status',
        'query.instrument',
        'query.side',
        'query.type',
        'query.created_from',
        'query.created_to',
        'query.cursor',
        'query.page',
      ].sort(),
    );
    // A reversed range is named along with the others.
    const reversed = await list('limit=0&created_from=2026-11-23T10:00:00Z&created_to=2026-11-23T09:00:00Z&x=1');
    expect(reversed.status).toBe(422);
    expect(locs(reversed).sort()).toEqual(['query.created_from', 'query.limit', 'query.x']);
  });

  it('refuses a tampered cursor', async () => {
    const instrument = uniqueInstrument('TC');
    await seed(
      Array.from({ length: 3 }, (_, i) => ({ instrument, createdAt: new Date(Date.now() - 60_000 + i), status: 'placed' as const })),
    );
    const { body } = await list(`instrument=${instrument}&limit=1`);
    const decoded = JSON.parse(Buffer.from(body.next, 'base64url').toString()) as [number, string, string, string];
    const alter = (index: number, value: string) => {
      const copy = [...decoded];
      copy[index] = value;
      return Buffer.from(JSON.stringify(copy)).toString('base64url');
    };
    const tampered = [
      alter(1, new Date(Date.parse(decoded[1]) + 1).toISOString()),
      alter(
        2,
        decoded[2].replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
      ),
      alter(
        3,
        decoded[3].replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
      ),
      alter(1, 'not a date'),
      body.next.slice(0, -2),
    ];
    for (const cursor of tampered) {
      const response = await list(`instrument=${instrument}&limit=1&cursor=${encodeURIComponent(cursor)}`);
      expect(response.status, cursor).toBe(422);
      expect(locs(response)).toEqual(['query.cursor']);
    }
    expect((await list(`instrument=${instrument}&limit=1&cursor=${body.next}`)).status).toBe(200);
  });

  it('still routes GET /orders/:id', async () => {
    expect((await request(`${api.url}/orders/not-a-uuid`)).status).toBe(422);
    expect((await request(`${api.url}/orders/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });
});

// ---- query plans -------------------------------------------------------------------------------

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Plan Rows': number;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

describe('GET /orders: query plans', () => {
  it('reads the common queries through index scans, never a sequential scan and sort', async () => {
    const prefix = uniqueInstrument('XP').slice(0, 9);
    const hot = `${prefix}HOT`;
    const plans: Record<string, PlanNode[]> = {};
    const explain = async (tx: Prisma.TransactionClient, name: string, query: OrderListQuery) => {
      const rows = await tx.$queryRaw<{ 'QUERY PLAN': unknown }[]>(Prisma.sql`EXPLAIN (FORMAT JSON) ${listOrdersSql(query)}`);
      const json = rows[0]!['QUERY PLAN'];
      const [top] = (typeof json === 'string' ? JSON.parse(json) : json) as [{ Plan: PlanNode }];
      plans[name] = nodesOf(top.Plan);
    };

    const rollback = new Error('rollback');
    await expect(
      db.$transaction(
        async (tx) => {
          // 5,000 orders, invisible to other tests and rolled back at the end: 10% of them on one
          // instrument, the rest over 199 others; 70% placed, the other statuses rarer.
          await tx.$executeRaw`
            INSERT INTO "orders" ("type", "side", "instrument", "limit_price", "quantity", "status", "created_at")
            SELECT CASE WHEN g % 3 = 0 THEN 'market'::"OrderType" ELSE 'limit' END,
                   CASE WHEN g % 2 = 0 THEN 'buy'::"OrderSide" ELSE 'sell' END,
                   CASE WHEN g % 10 = 0 THEN ${hot} ELSE ${prefix} || lpad((g % 199)::text, 3, '0') END,
                   CASE WHEN g % 3 = 0 THEN NULL ELSE 100.25 END,
                   1 + g % 100,
                   (CASE WHEN g % 100 < 70 THEN 'placed' WHEN g % 100 < 80 THEN 'accepted' WHEN g % 100 < 85 THEN 'placing'
                         WHEN g % 100 < 93 THEN 'rejected' WHEN g % 100 < 98 THEN 'cancelled' ELSE 'pending' END)::"OrderStatus",
                   now() - make_interval(secs => g)
            FROM generate_series(1, 5000) AS g`;
          await tx.$executeRaw`ANALYZE "orders"`;
          // A cursor in the middle of the data, as the second and later pages have.
          const after = { createdAt: new Date(Date.now() - 2_000_000), id: '80000000-0000-4000-8000-000000000000' };
          const limit = 51; // the default page size, plus the row that tells whether there is a next page
          await explain(tx, 'none', { filters: {}, limit });
          await explain(tx, 'none, after a cursor', { filters: {}, limit, after });
          await explain(tx, 'instrument', { filters: { instrument: hot }, limit });
          await explain(tx, 'instrument, after a cursor', { filters: { instrument: hot }, limit, after });
          await explain(tx, 'status', { filters: { statuses: ['rejected'] }, limit });
          await explain(tx, 'status, after a cursor', { filters: { statuses: ['rejected'] }, limit, after });
          await explain(tx, 'statuses', { filters: { statuses: ['pending', 'cancelled'] }, limit });
          await explain(tx, 'statuses, after a cursor', { filters: { statuses: ['accepted', 'placing', 'placed'] }, limit, after });
          throw rollback;
        },
        { maxWait: 30_000, timeout: 120_000 },
      ),
    ).rejects.toBe(rollback);

    const expectIndexScans = (name: string, index: string, options: { keyset: boolean; sortAtMost?: number }) => {
      const nodes = plans[name]!;
      const context = `${name}: ${JSON.stringify(nodes.map((node) => [node['Node Type'], node['Index Name'], node['Index Cond']]))}`;
      const scans = nodes.filter((node) => /Scan$/.test(node['Node Type']) && node['Node Type'] !== 'Function Scan');
      expect(scans.length, context).toBeGreaterThan(0);
      for (const scan of scans) {
        expect(['Index Scan', 'Index Only Scan'], context).toContain(scan['Node Type']);
        expect(scan['Index Name'], context).toBe(index);
        if (options.keyset) expect(scan['Index Cond'], context).toMatch(/ROW\(created_at, id\) < ROW\(/);
      }
      const sorts = nodes.filter((node) => /Sort/.test(node['Node Type']));
      if (options.sortAtMost === undefined) expect(sorts, context).toEqual([]);
      // The several-statuses statement sorts only what its per-status scans returned, each at most `limit` rows.
      for (const sort of sorts) expect(sort['Plan Rows'], context).toBeLessThanOrEqual(options.sortAtMost!);
    };
    expectIndexScans('none', 'orders_created_at_id_idx', { keyset: false });
    expectIndexScans('none, after a cursor', 'orders_created_at_id_idx', { keyset: true });
    expectIndexScans('instrument', 'orders_instrument_created_at_id_idx', { keyset: false });
    expectIndexScans('instrument, after a cursor', 'orders_instrument_created_at_id_idx', { keyset: true });
    expectIndexScans('status', 'orders_status_created_at_id_idx', { keyset: false });
    expectIndexScans('status, after a cursor', 'orders_status_created_at_id_idx', { keyset: true });
    expectIndexScans('statuses', 'orders_status_created_at_id_idx', { keyset: false, sortAtMost: 2 * 51 });
    expectIndexScans('statuses, after a cursor', 'orders_status_created_at_id_idx', { keyset: true, sortAtMost: 3 * 51 });
    for (const name of Object.keys(plans)) {
      expect(
        plans[name]!.some((node) => node['Node Type'] === 'Seq Scan'),
        name,
      ).toBe(false);
    }
  });
});

// Keep ORDER_STATUSES in view: a status added to the domain must be listable (the query's enum cast).
it('knows every status of the domain', async () => {
  const response = await list(`status=${ORDER_STATUSES.join(',')}&instrument=${uniqueInstrument('ST')}`);
  expect(response.status, response.text).toBe(200);
});
