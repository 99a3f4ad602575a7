import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBuffer } from 'better-sse';
import { LosslessNumber, stringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { createCatchUp } from '../../api/event-catch-up.js';
import { type LiveClient, LiveClients } from '../../api/event-fan-out.js';
import { eventData, eventIdOf, parseEventId, type StreamEvent, toStreamEvent } from '../../api/event-frames.js';
import { EventRing } from '../../api/event-ring.js';
import { createEventHub, type EventHub } from '../../api/event-stream.js';
import { createLogger } from '../../config/logger.js';
import {
  comparePositions,
  type OrderStreamQuery,
  type StreamPosition,
  type StreamRow,
  type StreamScope,
} from '../../prisma/order-stream.js';
import { storedOrder } from '../support/orders.js';
import { waitFor } from '../support/wait.js';

// The parts of GET /events (api/event-stream.ts) on their own: frames, the ring, the live
// fan-out and the catch-up, with stand-ins for the connections and the database.

const logger = createLogger('test', 'silent');
const at = (n: number): StreamPosition => ({ tx: 100n + BigInt(Math.floor(n / 10)), id: BigInt(n) });

function row(n: number, accountId: string, orderId: string): StreamRow {
  return {
    position: at(n),
    orderId,
    accountId,
    kind: n % 2 === 0 ? 'status' : 'fill',
    at: new Date(Date.UTC(2026, 11, 2, 10, 0, 0, n)),
    order: storedOrder({ limitPrice: '101.50', type: 'limit' }, { id: orderId, accountId, status: 'placed' }),
    execution: n % 2 === 0 ? null : { exec_id: `E${n}`, exec_type: 'partial_fill', last_qty: 1, last_px: '10.2500', cum_qty: 1 },
    accountPosition: null,
  };
}

const event = (n: number, accountId: string, orderId = `${accountId}-order`): StreamEvent => ({
  position: at(n),
  orderId,
  accountId,
  frame: `[${n}]`,
});

/** A client whose connection records what it is sent. */
function fakeClient(scope: StreamScope, unsent = 0) {
  const writes: (string | Buffer)[] = [];
  const state = { cut: false };
  const connection = {
    write: (chunk: string | Buffer) => writes.push(chunk),
    unsent,
    gone: false,
    drained: async () => {},
    cut: () => {
      state.cut = true;
    },
  };
  const client = { session: { isConnected: true }, connection, scope } as unknown as LiveClient;
  return { client, writes, state, text: () => writes.map(String).join('') };
}

describe('event frames', () => {
  it('are what better-sse writes for the same id, event and data', () => {
    for (const n of [1, 2]) {
      const source = row(n, 'a', 'o');
      const expected = new EventBuffer({ serializer: (data) => data as string })
        .id(eventIdOf(source.position))
        .event(source.kind)
        .data(eventData(source))
        .dispatch()
        .read();
      expect(toStreamEvent(source).frame).toBe(expected);
    }
    expect(toStreamEvent(row(1, 'a', 'o')).frame).toContain('"limit_price":101.50,');
  });

  it("write a fill's execution as lossless-json wrote it, whatever the stored report holds", () => {
    const reference = (report: Record<string, unknown>) => {
      const field = (name: string) => report[name] ?? null;
      const price = field('last_px');
      return stringify({
        exec_id: field('exec_id'),
        exec_type: field('exec_type'),
        quantity: field('last_qty'),
        price: typeof price === 'string' ? new LosslessNumber(price) : null,
        cum_quantity: field('cum_qty'),
        leaves_quantity: field('leaves_qty'),
        venue_time: field('transact_time'),
      }) as string;
    };
    const reports: Record<string, unknown>[] = [
      { exec_id: 'E"1"\n', exec_type: 'partial_fill', last_qty: 30, last_px: '10.2500', cum_qty: 30, leaves_qty: 70, transact_time: 'T' },
      { exec_id: 'E2', exec_type: 'trade_bust', last_qty: -1.5, last_px: 10.25, cum_qty: null, extra: [1] },
      { exec_id: { nested: ['a', 1, null, true] }, last_px: null },
      {},
    ];
    for (const report of reports) {
      const source = { ...row(1, 'a', 'o'), execution: report };
      // A fill's data ends with its position, after its execution.
      const data = eventData(source);
      expect(data.slice(data.indexOf(',"execution":') + 13, data.indexOf(',"position":'))).toBe(reference(report));
    }
    expect(() => eventData({ ...row(1, 'a', 'o'), execution: { last_px: '1 0' } })).toThrow(/Invalid number/);
  });

  it("carry a stop's trigger as its execution (kind and SSE event `triggered`), and no execution for a status", () => {
    const trigger = {
      exec_id: 'T1',
      exec_type: 'triggered',
      last_qty: 0,
      last_px: '110.0000',
      cum_qty: 0,
      leaves_qty: 10,
      transact_time: 'T',
    };
    const source: StreamRow = { ...row(1, 'a', 'o'), kind: 'triggered', execution: trigger };
    expect(JSON.parse(eventData(source))).toMatchObject({
      kind: 'triggered',
      execution: { exec_id: 'T1', exec_type: 'triggered', quantity: 0, price: 110, cum_quantity: 0, leaves_quantity: 10 },
    });
    expect(toStreamEvent(source).frame).toContain('\nevent:triggered\n');
    expect(JSON.parse(eventData({ ...source, kind: 'status' })).execution).toBeNull();
  });

  it('carry ids that name their position', () => {
    const position = { tx: 764n, id: 102n };
    expect(eventIdOf(position)).toBe('7640000000000102');
    expect(parseEventId('7640000000000102')).toEqual(position);
    expect(parseEventId('-1')).toBeUndefined();
  });
});

describe('EventRing', () => {
  it('keeps the last events, finds an account’s (and an order’s) after a position, and tells what it covers', () => {
    const ring = new EventRing(3, at(0));
    ring.append([event(1, 'a'), event(2, 'b'), event(3, 'a', 'x')]);
    expect(ring.coveredFrom).toEqual(at(0));
    expect(ring.end).toEqual(at(3));
    ring.append([event(4, 'b'), event(5, 'a')]);
    expect(ring.coveredFrom).toEqual(at(2));
    expect(ring.end).toEqual(at(5));
    const frames = (events: StreamEvent[]) => events.map((e) => e.frame);
    expect(frames(ring.after(at(2), { accountId: 'a', orderId: null }, 10))).toEqual(['[3]', '[5]']);
    expect(frames(ring.after(at(3), { accountId: 'a', orderId: null }, 10))).toEqual(['[5]']);
    expect(frames(ring.after(at(2), { accountId: 'a', orderId: 'x' }, 10))).toEqual(['[3]']);
    expect(frames(ring.after(at(2), { accountId: 'a', orderId: null }, 1))).toEqual(['[3]']);
    expect(frames(ring.after(at(2), { accountId: 'b', orderId: null }, 10))).toEqual(['[4]']);
    ring.append([event(6, 'c'), event(7, 'c'), event(8, 'c')]);
    expect(ring.after(at(2), { accountId: 'a', orderId: null }, 10)).toEqual([]);
    expect(frames(ring.after(at(5), { accountId: 'c', orderId: null }, 10))).toEqual(['[6]', '[7]', '[8]']);
  });

  it('stays correct past many drops (its queues are compacted)', () => {
    const ring = new EventRing(50, at(0));
    for (let n = 1; n <= 5000; n++) ring.append([event(n, n % 7 === 0 ? 'a' : 'b')]);
    expect(ring.coveredFrom).toEqual(at(4950));
    const a = ring.after(at(4950), { accountId: 'a', orderId: null }, 100);
    expect(a.map((e) => e.position.id)).toEqual([4956n, 4963n, 4970n, 4977n, 4984n, 4991n, 4998n]);
  });
});

describe('LiveClients', () => {
  it("sends each group of a poll's events once built to the clients that see it, and nothing to the others", () => {
    const live = new LiveClients(1 << 20, logger);
    const a1 = fakeClient({ accountId: 'a', orderId: null });
    const a2 = fakeClient({ accountId: 'a', orderId: null });
    const b = fakeClient({ accountId: 'b', orderId: null });
    const ax = fakeClient({ accountId: 'a', orderId: 'x' });
    const bx = fakeClient({ accountId: 'b', orderId: 'x' }); // another account's order: never
    const idle = fakeClient({ accountId: 'c', orderId: null });
    for (const { client } of [a1, a2, b, ax, bx, idle]) live.add(client);
    live.deliver([event(1, 'a', 'x'), event(2, 'b', 'y'), event(3, 'a', 'z')]);
    expect(a1.text()).toBe('[1][3]');
    expect(a2.writes[0]).toBe(a1.writes[0]); // the very same bytes
    expect(b.text()).toBe('[2]');
    expect(ax.text()).toBe('[1]');
    expect(bx.writes).toEqual([]);
    expect(idle.writes).toEqual([]);

    live.delete(a1.client);
    live.deliver([event(4, 'a', 'x')]);
    expect(a1.text()).toBe('[1][3]');
    expect(a2.text()).toBe('[1][3][4]');
  });

  it('skips the events up to a Last-Event-ID this process had not read yet, then sends all', () => {
    const live = new LiveClients(1 << 20, logger);
    const ahead = fakeClient({ accountId: 'a', orderId: null });
    ahead.client.skipThrough = at(3);
    live.add(ahead.client);
    live.deliver([event(1, 'a'), event(2, 'a')]);
    live.deliver([event(3, 'a'), event(4, 'a')]);
    live.deliver([event(5, 'a')]);
    expect(ahead.text()).toBe('[4][5]');
  });

  it('cuts a client whose unsent bytes pass the bound', () => {
    const live = new LiveClients(100, logger);
    const slow = fakeClient({ accountId: 'a', orderId: null }, 101);
    const fine = fakeClient({ accountId: 'a', orderId: null }, 100);
    live.add(slow.client);
    live.add(fine.client);
    live.deliver([event(1, 'a')]);
    expect([slow.state.cut, fine.state.cut]).toEqual([true, false]);
  });
});

describe('createCatchUp', () => {
  it('sends the database pages while the ring lacks them, then the ring, and goes live at its end', async () => {
    const ring = new EventRing(4, at(10));
    ring.append([event(11, 'a'), event(12, 'b'), event(13, 'a'), event(14, 'a'), event(15, 'b')]);
    expect(ring.coveredFrom).toEqual(at(11));
    const stored = [3, 5, 6, 8, 11].map((n) => row(n, 'a', 'o'));
    const reads: StreamPosition[] = [];
    const catchUp = createCatchUp({
      read: async (scope, after, limit) => {
        expect(scope).toEqual({ accountId: 'a', orderId: null });
        reads.push(after);
        return stored.filter((r) => r.position.id > after.id).slice(0, limit);
      },
      ring: () => ring,
      concurrency: 2,
      pageRows: 2,
    });
    const client = fakeClient({ accountId: 'a', orderId: null });
    let liveAt: StreamPosition | undefined;
    await catchUp.run(client.client, at(3), (position) => {
      liveAt = position;
    });
    expect(reads).toEqual([at(3), at(6)]);
    const ids = [...client.text().matchAll(/^id:(\d+)$/gm)].map((match) => parseEventId(match[1]!)!.id);
    expect(ids).toEqual([5n, 6n, 8n, 11n]);
    expect(client.text()).toMatch(/\[13\]\[14\]$/);
    expect(liveAt).toEqual(at(15));
  });

  it('reads at most `concurrency` pages at once, a page per client in turn', async () => {
    const ring = new EventRing(1, at(100));
    const reads: string[] = [];
    let inFlight = 0;
    let most = 0;
    const catchUp = createCatchUp({
      read: async (scope, after) => {
        reads.push(`${scope.accountId}${after.id}`);
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        // Three full pages of one row each, then an empty one.
        return after.id < 3n ? [row(Number(after.id) + 1, scope.accountId, 'o')] : [];
      },
      ring: () => ring,
      concurrency: 2,
      pageRows: 1,
    });
    const clients = ['a', 'b', 'c', 'd'].map((accountId) => fakeClient({ accountId, orderId: null }));
    await Promise.all(clients.map(({ client }) => catchUp.run(client, at(0), () => {})));
    expect(most).toBe(2);
    // No client's next page before every other client's page of the round before.
    const round = (read: string) => Number(read.slice(1));
    expect(reads).toHaveLength(16);
    for (let i = 1; i < reads.length; i++) expect(round(reads[i]!)).toBeGreaterThanOrEqual(round(reads[i - 1]!));
    expect(
      reads
        .slice(0, 4)
        .map((read) => read[0])
        .sort(),
    ).toEqual(['a', 'b', 'c', 'd']);
    for (const { text } of clients) expect(text().match(/^id:/gm)).toHaveLength(3);
  });
});

describe('createEventHub', () => {
  /** The order stream in memory: the poller's reads see `rows`; a catch-up's read hangs (a database that does not answer). */
  function fakeStream(rows: StreamRow[]) {
    const catchUpReads: StreamPosition[] = [];
    const stream = {
      tail: async () => rows.at(-1)?.position ?? at(0),
      after: async (after: StreamPosition, limit: number) => rows.filter((r) => comparePositions(r.position, after) > 0).slice(0, limit),
      afterInScope: (_scope: StreamScope, after: StreamPosition) => {
        catchUpReads.push(after);
        return new Promise<StreamRow[]>(() => {});
      },
    };
    return { stream: stream as unknown as OrderStreamQuery, catchUpReads };
  }

  async function serveHub(hub: EventHub) {
    const server = createServer((req, res) => {
      const query = new URL(req.url!, 'http://localhost').searchParams;
      const last = req.headers['last-event-id'];
      hub
        .serve(req, res, { accountId: query.get('account')!, orderId: null }, typeof last === 'string' ? parseEventId(last) : undefined)
        .catch(() => {
          res.statusCode = 503;
          res.end();
        });
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const opened: AbortController[] = [];
    const open = async (account: string, last?: number) => {
      const abort = new AbortController();
      opened.push(abort);
      const response = await fetch(`http://127.0.0.1:${port}/?account=${account}`, {
        headers: last === undefined ? {} : { 'Last-Event-ID': eventIdOf(at(last)) },
        signal: abort.signal,
      });
      let text = '';
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          text += value;
        }
      })().catch(() => {});
      return { ids: () => [...text.matchAll(/^id:(\d+)$/gm)].map((match) => Number(parseEventId(match[1]!)!.id)) };
    };
    const close = async () => {
      for (const abort of opened) abort.abort();
      await hub.close();
      server.closeAllConnections();
      server.close();
    };
    return { open, close };
  }

  const settings = { pollIntervalMs: 5, ringSize: 3, maxClients: 100, clientBufferBytes: 1 << 20, heartbeatMs: 60_000 };

  it('keeps the live tail and the ring moving while every catch-up waits on the database', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(i + 1, 'a', 'o'));
    const { stream, catchUpReads } = fakeStream(rows);
    const hub = createEventHub(stream, settings, logger);
    const { open, close } = await serveHub(hub);
    try {
      // Three clients far behind: their catch-ups take both database turns and wait for them.
      const behind = await Promise.all([open('a', 1), open('a', 2), open('a', 3)]);
      await waitFor(async () => (catchUpReads.length === 2 ? true : undefined), 10_000, 'two catch-up reads');
      const live = await open('b');
      await waitFor(async () => (hub.clients === 4 ? true : undefined), 10_000, 'the live client');
      rows.push(row(11, 'b', 'p'), row(12, 'a', 'o'));
      await waitFor(async () => (live.ids().length === 1 ? true : undefined), 10_000, 'the live event');
      expect(live.ids()).toEqual([11]);
      // From the ring, without a turn at the database.
      const recent = await open('a', 10);
      await waitFor(async () => (recent.ids().length === 1 ? true : undefined), 10_000, 'the ring event');
      rows.push(row(13, 'a', 'o'), row(14, 'b', 'p'));
      await waitFor(async () => (recent.ids().length === 2 && live.ids().length === 2 ? true : undefined), 10_000, 'the next events');
      expect(recent.ids()).toEqual([12, 13]);
      expect(live.ids()).toEqual([11, 14]);
      expect(catchUpReads).toHaveLength(2);
      for (const client of behind) expect(client.ids()).toEqual([]);
    } finally {
      await close();
    }
  });

  it('sends a client that comes with an id this process has not read yet only the events after it', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => row(i + 1, 'a', 'o'));
    const { stream } = fakeStream(rows);
    const hub = createEventHub(stream, settings, logger);
    const { open, close } = await serveHub(hub);
    try {
      const ahead = await open('a', 8); // read by another process's poller, not yet by this one
      const now = await open('a');
      await waitFor(async () => (hub.clients === 2 ? true : undefined), 10_000, 'both clients');
      rows.push(...[6, 7, 8, 9, 10].map((n) => row(n, 'a', 'o')));
      await waitFor(async () => (now.ids().length === 5 ? true : undefined), 10_000, 'the events');
      await waitFor(async () => (ahead.ids().length === 2 ? true : undefined), 10_000, 'the events after its id');
      expect(ahead.ids()).toEqual([9, 10]);
    } finally {
      await close();
    }
  });
});
