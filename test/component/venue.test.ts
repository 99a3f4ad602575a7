import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OrderTicket } from '../../domain/order.js';
import { DuplicateOrderError, OrderCancelledAtExchangeError, OrderPlacementError } from '../../exchange/errors.js';
import { readLedger } from '../../exchange/exchange-ledger.js';
import { type ExecutionReport, MAX_LINE_BYTES } from '../../exchange/protocol.js';
import { createVenueClient, type VenueClient } from '../../exchange/venue-client.js';
import { startVenueProcess, type VenueProcess } from '../../scripts/infra/venue-process.js';
import { is, openWire, type WireConnection } from '../support/venue-wire.js';
import { waitFor } from '../support/wait.js';

// The venue as its own process (exchange/main.ts), in scripted mode, on a database of its own
// (its ledger must hold only this file's orders: a restart rebuilds from it), reached over TCP
// by the worker's client and by raw line connections.
const INSTRUMENT = 'TESTREF00001';
const FAILURE_MESSAGE = 'Failed to place order at stock exchange. Connection not available';
let venue: VenueProcess;
let venueEnv: Record<string, string>;
let databaseUrl: string;
let dataDir: string;
const clients: VenueClient[] = [];
const wires: WireConnection[] = [];

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  const name = `venue_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'venue-test-'));
  venueEnv = {
    DATABASE_URL: databaseUrl,
    VENUE_PORT: String(await getPort()),
    VENUE_CONTROL_PORT: String(await getPort()),
    VENUE_DATA_DIR: dataDir,
    VENUE_MODE: 'scripted',
    VENUE_HEARTBEAT_MS: '300',
    VENUE_REFERENCE_PRICES: JSON.stringify({ [INSTRUMENT]: '10.00' }),
    // The venue's own failure rate, seen by connections that do not set theirs.
    EXCHANGE_FAILURE_RATE: '0.25',
    EXCHANGE_LATENCY_MS: '0',
  };
  venue = await startVenueProcess(venueEnv);
});

afterAll(async () => {
  for (const client of clients) client.close();
  for (const wire of wires) wire.close();
  await venue?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

function client(options: { failureRate?: number; latencyMs?: number } = {}): VenueClient {
  const created = createVenueClient({ address: venue.address, requestTimeoutMs: 10_000, failureRate: 0, latencyMs: 0, ...options });
  clients.push(created);
  return created;
}

async function wire(): Promise<WireConnection> {
  const connection = await openWire(venue.address);
  wires.push(connection);
  return connection;
}

function ticket(fields: Partial<OrderTicket> = {}): OrderTicket {
  return {
    id: randomUUID(),
    type: 'market',
    side: 'buy',
    instrument: INSTRUMENT,
    limitPrice: null,
    quantity: 7,
    timeInForce: 'day',
    createdAt: new Date().toISOString(),
    ...fields,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the control port's JSON answers, read field by field
async function control(pathname: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${venue.controlUrl}${pathname}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function session(nextSeq = 1, name = 'test'): Promise<WireConnection> {
  const connection = await wire();
  connection.send({ type: 'logon', session: name, next_seq: nextSeq });
  await connection.waitFor(is('logon_ack'));
  return connection;
}

const reportsOf = (connection: WireConnection, orderId: string) =>
  connection.received.filter((m): m is ExecutionReport => m.type === 'execution_report' && m.order_id === orderId);

const stats = async () => (await control('/control/stats')).body as { next_seq: number; durable_seq: number };

const REPORT_LINE = '{"type":"execution_report",';
/** The report lines of the venue's log file (VENUE_DATA_DIR/reports.log), by seq. */
async function loggedLines(): Promise<Map<number, string>> {
  const text = await readFile(path.join(dataDir, 'reports.log'), 'utf8');
  const lines = text.split('\n').filter((line) => line.startsWith(REPORT_LINE));
  return new Map(lines.map((line) => [(JSON.parse(line) as ExecutionReport).seq, line]));
}
/** The report lines a connection got, as they came, with their seqs. */
const reportLines = (connection: WireConnection) =>
  connection.lines.filter((line) => line.startsWith(REPORT_LINE)).map((line) => [(JSON.parse(line) as ExecutionReport).seq, line] as const);
/** A logged line as a replay or a resend sends it. */
const asPossDup = (line: string) => JSON.stringify({ ...JSON.parse(line), poss_dup: true });
/** Lines sent live before the restart test, to compare with what the venue resends after it. */
const sentLive = new Map<number, string>();

describe('order entry', () => {
  it('accepts an order once, answers a second submission duplicate, and counts it in the ledger', async () => {
    const venueClient = client();
    const order = ticket();
    const placed = await venueClient.placeOrder(order);
    expect(Date.parse(placed.expiresAt ?? '')).toBeGreaterThan(Date.now()); // a day order: the venue's close
    const again = await venueClient.placeOrder(order).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(DuplicateOrderError);
    expect((again as DuplicateOrderError).expiresAt).toBe(placed.expiresAt);
    expect((await venueClient.placeOrder(ticket({ timeInForce: 'gtc' }))).expiresAt).toBeNull();
    const entry = (await readLedger(databaseUrl)).find((row) => row.orderId === order.id);
    expect(entry).toMatchObject({ status: 'accepted', duplicateSubmissions: 1 });
  });

  it('refuses an order whose id was cancelled before it arrived', async () => {
    const venueClient = client();
    const order = ticket();
    expect(await venueClient.cancelOrder(order.id, 'cancel')).toEqual({ outcome: 'cancelled', cumQty: 0 });
    await expect(venueClient.placeOrder(order)).rejects.toBeInstanceOf(OrderCancelledAtExchangeError);
    expect((await readLedger(databaseUrl)).find((row) => row.orderId === order.id)?.status).toBe('cancelled');
  });

  it('fails the configured share of placements at once with the task message', async () => {
    // This connection sets no rate of its own: the venue's EXCHANGE_FAILURE_RATE (0.25) applies.
    const connection = await wire();
    const count = 400;
    for (let i = 0; i < count; i++) {
      const order = {
        id: randomUUID(),
        type: 'limit',
        side: 'buy',
        instrument: INSTRUMENT,
        limit_price: '1.00',
        quantity: 1,
        time_in_force: 'gtc',
      };
      connection.send({ type: 'new_order', req_id: `r${i}`, order });
    }
    const answers = await connection.waitFor(
      (m): m is Extract<typeof m, { type: 'new_order_result' | 'error' }> => m.type === 'new_order_result' || m.type === 'error',
      count,
      'answers',
    );
    const failures = answers.filter((m) => m.type === 'error');
    for (const failure of failures) expect(failure).toMatchObject({ error: 'OrderPlacementError', message: FAILURE_MESSAGE });
    // 0.25 of 400 = 100; the bounds are 4.6 standard deviations (8.7) wide.
    expect(failures.length).toBeGreaterThan(60);
    expect(failures.length).toBeLessThan(140);
    expect(answers.filter((m) => m.type === 'new_order_result')).toHaveLength(count - failures.length);
  });

  it('takes the latency to answer a placement, and fails at once before it', async () => {
    const slow = client({ latencyMs: 600 });
    const started = Date.now();
    await slow.placeOrder(ticket());
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    const failing = client({ failureRate: 1, latencyMs: 5_000 });
    const failedAt = Date.now();
    await expect(failing.placeOrder(ticket())).rejects.toThrow(new OrderPlacementError().message);
    expect(Date.now() - failedAt).toBeLessThan(5_000);
  });

  it('rejects a request whose connection the venue drops with OrderPlacementError', async () => {
    const slow = client({ latencyMs: 3_000 });
    await slow.placeOrder(ticket({ timeInForce: 'gtc' })); // connected
    const pending = slow.placeOrder(ticket()).catch((error: unknown) => error);
    await waitFor(async () => ((await control('/control/stats')).body.order_entry_connections > 0 ? true : undefined));
    await control('/control/faults', { drop_order_entry: true });
    expect(await pending).toBeInstanceOf(OrderPlacementError);
    // It reconnects for the next request.
    expect((await slow.placeOrder(ticket({ timeInForce: 'gtc' }))).expiresAt).toBeNull();
  });
});

describe('working orders (scripted)', () => {
  it('fills a market order in two fills at the reference price with exact cum, leaves and average', async () => {
    const stream = await session((await stats()).next_seq);
    const order = ticket({ quantity: 7 });
    await client().placeOrder(order);
    await waitFor(async () => (reportsOf(stream, order.id).length >= 3 ? true : undefined));
    expect(
      reportsOf(stream, order.id).map((r) => [r.exec_type, r.order_status, r.last_qty, r.last_px, r.cum_qty, r.leaves_qty, r.avg_px]),
    ).toEqual([
      ['new', 'new', 0, null, 0, 7, null],
      ['partial_fill', 'partially_filled', 3, '10.0000', 3, 4, '10.000000'],
      ['fill', 'filled', 4, '10.0000', 7, 0, '10.000000'],
    ]);
    expect(await client().cancelOrder(order.id, 'cancel')).toEqual({ outcome: 'filled', cumQty: 7 });
  });

  it('rests a limit order until the control port fills and busts it; a cancel keeps the filled part', async () => {
    const stream = await session((await stats()).next_seq);
    const order = ticket({ type: 'limit', limitPrice: '9.50', quantity: 10 });
    await client().placeOrder(order);
    expect((await control('/control/fill', { order_id: order.id, qty: 2, px: '9.01' })).status).toBe(200);
    const second = await control('/control/fill', { order_id: order.id, qty: 1, px: '9.0250' });
    expect(second.body).toMatchObject({ cum_qty: 3, leaves_qty: 7, avg_px: '9.015000' }); // (18.02 + 9.025) / 3 = 9.015
    const first = (await control(`/control/orders/${order.id}`)).body.executions[1] as ExecutionReport;
    expect(first).toMatchObject({ exec_type: 'partial_fill', last_qty: 2 });
    const bust = await control('/control/bust', { exec_id: first.exec_id });
    expect(bust.body).toMatchObject({ exec_type: 'trade_bust', ref_exec_id: first.exec_id, last_qty: 2, cum_qty: 1, avg_px: '9.025000' });
    expect((await control('/control/fill', { order_id: order.id, qty: 10 })).status).toBe(409); // beyond leaves
    expect(await client().cancelOrder(order.id, 'cancel')).toEqual({ outcome: 'cancelled', cumQty: 1 });
    await waitFor(async () => (reportsOf(stream, order.id).length >= 5 ? true : undefined));
    expect(reportsOf(stream, order.id).map((r) => r.exec_type)).toEqual(['new', 'partial_fill', 'partial_fill', 'trade_bust', 'cancelled']);
    const view = await control(`/control/orders/${order.id}`);
    expect(view.body).toMatchObject({ status: 'cancelled', cum_qty: 1, leaves_qty: 0, avg_px: '9.025000' });
    expect(view.body.executions.map((r: ExecutionReport) => r.exec_id)).toEqual(reportsOf(stream, order.id).map((r) => r.exec_id));
    expect(new Set(view.body.executions.map((r: ExecutionReport) => r.exec_id)).size).toBe(5);
  });
});

describe('execution session', () => {
  it('replays from the logon seq as possible duplicates, then the live tail, gapless', async () => {
    const from = (await stats()).next_seq;
    const order = ticket({ quantity: 4 });
    await client().placeOrder(order);
    await waitFor(async () => ((await stats()).durable_seq >= from + 2 ? true : undefined));
    const stream = await session(from);
    const [ack] = await stream.waitFor(is('logon_ack'));
    expect(ack!.next_seq).toBeGreaterThanOrEqual(from + 3);
    const replayed = await stream.waitFor(is('execution_report'), 3);
    expect(replayed.map((r) => [r.seq, r.poss_dup])).toEqual([
      [from, true],
      [from + 1, true],
      [from + 2, true],
    ]);
    const live = ticket({ quantity: 1 });
    await client().placeOrder(live);
    await waitFor(async () => (reportsOf(stream, live.id).length >= 2 ? true : undefined));
    const all = stream.received.filter(is('execution_report'));
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => from + i));
    expect(reportsOf(stream, live.id).every((r) => !r.poss_dup)).toBe(true);
  });

  it('resends a requested range as possible duplicates', async () => {
    const stream = await session((await stats()).next_seq);
    await client().placeOrder(ticket({ quantity: 2 }));
    const live = await stream.waitFor(is('execution_report'), 3);
    stream.send({ type: 'resend_request', from_seq: live[0]!.seq, to_seq: live[1]!.seq });
    const all = await stream.waitFor(is('execution_report'), 5);
    expect(all.slice(3).map((r) => [r.seq, r.poss_dup, r.exec_id])).toEqual([
      [live[0]!.seq, true, live[0]!.exec_id],
      [live[1]!.seq, true, live[1]!.exec_id],
    ]);
  });

  it('lets the receiver see a gap by the heartbeat when a report was not sent (skip fault), and repairs it by resend', async () => {
    const stream = await session((await stats()).next_seq);
    const expected = (await stats()).next_seq;
    await control('/control/faults', { skip: 1 });
    const order = ticket({ type: 'limit', limitPrice: '1.00', quantity: 5, timeInForce: 'gtc' });
    await client().placeOrder(order); // its `new` report is left out
    const [beat] = await stream.waitFor(
      (m): m is Extract<typeof m, { type: 'heartbeat' }> => m.type === 'heartbeat' && m.next_seq > expected,
    );
    expect(stream.received.filter(is('execution_report'))).toEqual([]);
    stream.send({ type: 'resend_request', from_seq: expected, to_seq: beat!.next_seq - 1 });
    const [report] = await stream.waitFor(is('execution_report'));
    expect(report).toMatchObject({ seq: expected, poss_dup: true, order_id: order.id, exec_type: 'new' });
  });

  it('serves several sessions the same stream', async () => {
    const from = (await stats()).next_seq;
    const [a, b] = [await session(from, 'a'), await session(from, 'b')];
    await client().placeOrder(ticket({ quantity: 3 }));
    const [ra, rb] = [await a.waitFor(is('execution_report'), 3), await b.waitFor(is('execution_report'), 3)];
    expect(ra.map((r) => r.exec_id)).toEqual(rb.map((r) => r.exec_id));
  });
});

describe('bad input', () => {
  it('answers BadRequest to each bad line and goes on with the connection', async () => {
    const connection = await wire();
    connection.send('not json\n');
    connection.send({ type: 'new_order', req_id: 'bad-1', order: { id: 'not-a-uuid' } });
    connection.send({ type: 'mystery' });
    connection.send(`${'x'.repeat(MAX_LINE_BYTES + 10)}\n`);
    connection.send({ type: 'cancel_order', req_id: 'bad-2', order_id: randomUUID(), reason: 'because' });
    const errors = await connection.waitFor(is('error'), 5, 'errors');
    expect(errors.every((e) => e.error === 'BadRequest')).toBe(true);
    expect(errors.filter((e) => e.req_id).map((e) => e.req_id)).toEqual(['bad-1', 'bad-2']);
    expect(errors.find((e) => /longer than/.test(e.message))).toBeDefined();
    const id = randomUUID();
    connection.send({ type: 'cancel_order', req_id: 'ok', order_id: id, reason: 'cancel' });
    const [result] = await connection.waitFor(is('cancel_order_result'));
    expect(result).toMatchObject({ req_id: 'ok', order_id: id, outcome: 'cancelled' });
    expect(connection.closed).toBe(false);
    connection.send({ type: 'new_order', req_id: 'missing' });
    const [missing] = await connection.waitFor(
      (m): m is Extract<typeof m, { type: 'error' }> => m.type === 'error' && m.req_id === 'missing',
    );
    expect(missing).toMatchObject({ error: 'MissingOrderError', message: 'Required order parameter not provided' });
  });

  it('answers a bad control body with a 400 naming the field', async () => {
    const response = await control('/control/fill', { order_id: randomUUID(), qty: 'many' });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/qty/);
  });
});

describe('fault switches', () => {
  it('drop_connections closes every execution session', async () => {
    const stream = await session((await stats()).next_seq);
    await control('/control/faults', { drop_connections: true });
    await waitFor(async () => (stream.closed ? true : undefined), 10_000, 'the session to be closed');
  });

  it('duplicates sends each report twice; reorder swaps neighbours of a resend', async () => {
    const from = (await stats()).next_seq;
    const stream = await session(from);
    await control('/control/faults', { duplicates: 1 });
    try {
      await client().placeOrder(ticket({ quantity: 2 }));
      const doubled = await stream.waitFor(is('execution_report'), 6);
      expect(doubled.map((r) => r.seq)).toEqual([from, from, from + 1, from + 1, from + 2, from + 2]);
    } finally {
      await control('/control/faults', { duplicates: 0 });
    }
    await control('/control/faults', { reorder: true });
    try {
      stream.send({ type: 'resend_request', from_seq: from, to_seq: from + 1 });
      const all = await stream.waitFor(is('execution_report'), 8);
      expect(all.slice(6).map((r) => r.seq)).toEqual([from + 1, from]);
    } finally {
      await control('/control/faults', { reorder: false });
    }
  });

  it('pause holds every send for its duration; burst holds live reports until that many are there', async () => {
    const stream = await session((await stats()).next_seq);
    await control('/control/faults', { pause_ms: 1_500 });
    const pausedAt = Date.now();
    await client().placeOrder(ticket({ quantity: 2 }));
    await stream.waitFor(is('execution_report'), 3);
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(1_400);

    const burst = await session((await stats()).next_seq);
    await control('/control/faults', { burst: 6 });
    await client().placeOrder(ticket({ quantity: 2 })); // 3 reports: held
    await waitFor(async () => ((await stats()).durable_seq >= (await stats()).next_seq - 1 ? true : undefined));
    expect(burst.received.filter(is('execution_report'))).toEqual([]);
    await client().placeOrder(ticket({ quantity: 2 })); // 3 more: the burst goes out
    const all = await burst.waitFor(is('execution_report'), 6);
    expect(all).toHaveLength(6);
  });

  it('load mode streams partial fills for adopted order ids at the rate', async () => {
    const from = (await stats()).next_seq;
    const stream = await session(from);
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const response = await control('/control/load', { order_ids: ids, quantity: 1000, reports_per_second: 500, duration_s: 1 });
    expect(response.status).toBe(202);
    // A load runs for its duration: the stats say so until the last of its reports is made.
    expect((await control('/control/stats')).body.loads_running).toBe(1);
    const reports = await stream.waitFor(is('execution_report'), 520, 'load reports');
    await waitFor(async () => ((await control('/control/stats')).body.loads_running === 0 ? true : undefined));
    expect(reports.filter((r) => r.exec_type === 'new')).toHaveLength(20);
    expect(reports.filter((r) => r.exec_type === 'partial_fill').length).toBeGreaterThanOrEqual(500);
    const view = await control(`/control/orders/${ids[0]}`);
    expect(view.body.cum_qty).toBe(view.body.executions.filter((r: ExecutionReport) => r.exec_type === 'partial_fill').length);
  });
});

describe('report log', () => {
  it('sends each report as the line it logged, byte for byte, and resends old ones as those bytes with poss_dup true', async () => {
    const from = (await stats()).next_seq;
    const stream = await session(from, 'bytes');
    const ids = Array.from({ length: 4 }, () => randomUUID());
    await control('/control/load', { order_ids: ids, quantity: 10_000, reports_per_second: 4_000, duration_s: 0.5 });
    await stream.waitFor(is('execution_report'), 2_004, 'load reports');
    await waitFor(async () => {
      const s = (await control('/control/stats')).body;
      return s.loads_running === 0 && s.durable_seq === s.next_seq - 1 ? true : undefined;
    });
    const logged = await loggedLines();
    const live = reportLines(stream);
    expect(live.length).toBeGreaterThanOrEqual(2_004);
    for (const [seq, line] of live) {
      expect(line).toBe(logged.get(seq));
      sentLive.set(seq, line);
    }

    stream.send({ type: 'resend_request', from_seq: from, to_seq: from + 1_999 });
    await stream.waitFor(is('execution_report'), live.length + 2_000, 'resent reports');
    const resent = reportLines(stream).slice(live.length);
    expect(resent.map(([seq]) => seq)).toEqual(Array.from({ length: 2_000 }, (_, i) => from + i));
    for (const [seq, line] of resent) expect(line).toBe(asPossDup(logged.get(seq)!));

    // The control view reads an order's reports back from the log: the logged lines again.
    const view = (await control(`/control/orders/${ids[0]}`)).body as { cum_qty: number; executions: ExecutionReport[] };
    expect(view.executions).toHaveLength(view.cum_qty + 1);
    for (const report of view.executions) expect(JSON.stringify(report)).toBe(logged.get(report.seq));
    // What the venue holds: no report per order; the last lines in a bounded window.
    const { memory } = (await control('/control/stats')).body;
    expect(memory.busted_fills_held).toBe(0);
    expect(memory.orders_working).toBeGreaterThanOrEqual(4);
    expect(memory.window_lines).toBeLessThanOrEqual(memory.window_capacity);
    expect(memory.window_lines).toBe(Math.min(memory.window_capacity, (await stats()).next_seq - 1));
  });
});

describe('restart', () => {
  it('keeps orders and numbering across a SIGKILL: no seq reused, none skipped', async () => {
    const resting = ticket({ type: 'limit', limitPrice: '5.00', quantity: 9, timeInForce: 'gtc' });
    await client().placeOrder(resting);
    await control('/control/fill', { order_id: resting.id, qty: 4, px: '5.00' });
    await waitFor(async () => {
      const s = await stats();
      return s.durable_seq === s.next_seq - 1 ? true : undefined;
    });
    const before = await stats();
    const viewBefore = (await control(`/control/orders/${resting.id}`)).body;

    await venue.stop('SIGKILL');
    venue = await startVenueProcess(venueEnv);

    const after = await stats();
    expect(after.next_seq).toBe(before.next_seq);
    expect((await control(`/control/orders/${resting.id}`)).body).toEqual(viewBefore);
    const fill = await control('/control/fill', { order_id: resting.id, qty: 5, px: '5.10' });
    expect(fill.body).toMatchObject({ seq: before.next_seq, exec_type: 'fill', cum_qty: 9, avg_px: '5.055556' }); // (20 + 25.5) / 9

    const stream = await session(1, 'after-restart');
    const all = await stream.waitFor((m): m is ExecutionReport => m.type === 'execution_report' && m.seq === before.next_seq, 1);
    expect(all).toHaveLength(1);
    const reports = stream.received.filter(is('execution_report'));
    expect(reports.map((r) => r.seq)).toEqual(reports.map((_, i) => i + 1));
    // The new process read its lines back from the file: what it replays is what was sent before, byte for byte.
    expect(sentLive.size).toBeGreaterThan(0);
    for (const [seq, line] of reportLines(stream)) if (sentLive.has(seq)) expect(line).toBe(asPossDup(sentLive.get(seq)!));
    expect(new Set(reports.map((r) => r.exec_id)).size).toBe(reports.length);
    // A client reconnects to the new process by itself.
    await expect(client().placeOrder(resting)).rejects.toBeInstanceOf(DuplicateOrderError);
  });
});
