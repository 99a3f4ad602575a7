import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { averagePrice, decimalUnits } from '../../domain/decimal.js';
import type { OrderTicket } from '../../domain/order.js';
import { onLines } from '../../exchange/lines.js';
import type { ExecutionReport } from '../../exchange/protocol.js';
import { createVenueClient, type VenueClient } from '../../exchange/venue-client.js';
import { type IngestProcess, startIngestProcess } from '../../scripts/infra/ingest-process.js';
import { type IngestStack, insertOrders, startIngestStack } from '../support/ingest-stack.js';
import { metricValue, scrape } from '../support/metrics.js';
import { waitFor } from '../support/wait.js';

// The ingestion process (ingest/main.ts) against the venue process, both real, on a database of
// this file's own: fills reach the orders exactly, the executions are the venue's, bad reports
// are kept aside and the session goes on.
const INSTRUMENT = 'INGESTREF001';
let stack: IngestStack;
let venueClient: VenueClient;

beforeAll(async () => {
  stack = await startIngestStack({
    prefix: 'ingest_test',
    venueEnv: { VENUE_REFERENCE_PRICES: JSON.stringify({ [INSTRUMENT]: '187.2533' }) },
  });
  // Port 0: the process takes a free one and logs it (no race with another process for a chosen one).
  await stack.startIngest({ INGEST_METRICS_PORT: '0' });
  venueClient = createVenueClient({ address: stack.venue.address, requestTimeoutMs: 10_000, failureRate: 0, latencyMs: 0 });
}, 240_000);

afterAll(async () => {
  venueClient?.close();
  await stack?.close();
});

function ticket(id: string, fields: Partial<OrderTicket> = {}): OrderTicket {
  return {
    id,
    type: 'market',
    side: 'buy',
    instrument: INSTRUMENT,
    limitPrice: null,
    quantity: 7,
    timeInForce: 'gtc',
    createdAt: new Date().toISOString(),
    ...fields,
  };
}

async function orderRow(id: string) {
  const { rows } = await stack.db.query('SELECT * FROM orders WHERE id = $1', [id]);
  return rows[0] as Record<string, unknown> & { status: string; filled_quantity: number; filled_notional: string };
}

const untilStatus = (id: string, status: string) =>
  waitFor(
    async () => {
      const row = await orderRow(id);
      return row.status === status ? row : undefined;
    },
    60_000,
    `order ${id} ${status}`,
  );

async function statusHistory(id: string): Promise<string[]> {
  const { rows } = await stack.db.query('SELECT status FROM order_events WHERE order_id = $1 ORDER BY id', [id]);
  return rows.map((row: { status: string }) => row.status);
}

/** The service's executions of an order next to the venue's own view of them. */
async function compareWithVenue(id: string) {
  const venue = (await stack.control(`/control/orders/${id}`)).body as {
    cum_qty: number;
    avg_px: string | null;
    executions: ExecutionReport[];
  };
  const { rows } = await stack.db.query(
    'SELECT exec_id, seq::int AS seq, exec_type, last_qty, last_px::text AS last_px, cum_qty FROM executions WHERE order_id = $1 ORDER BY seq',
    [id],
  );
  return {
    venue,
    stored: rows as { exec_id: string; seq: number; exec_type: string; last_qty: number; last_px: string | null; cum_qty: number }[],
  };
}

describe('fills reach the order', () => {
  it('a market order: placed, partially_filled, filled, with the exact average and the venue\u2019s executions', async () => {
    const [id] = await insertOrders(stack.db, [{ instrument: INSTRUMENT, quantity: 7, status: 'placing', timeInForce: 'gtc' }]);
    await venueClient.placeOrder(ticket(id!));
    const row = await untilStatus(id!, 'filled');
    expect(row.filled_quantity).toBe(7);
    // Scripted: 3 then 4 at the reference price 187.2533.
    expect(decimalUnits(row.filled_notional)).toBe(7n * 1_872_533n);
    expect(row.filled_at).not.toBeNull();
    expect(row.placed_at).not.toBeNull();
    expect(await statusHistory(id!)).toEqual(['placing', 'placed', 'partially_filled', 'filled']);

    const { venue, stored } = await compareWithVenue(id!);
    expect(stored.map((e) => e.exec_id)).toEqual(venue.executions.map((e) => e.exec_id));
    expect(stored.map((e) => [e.exec_type, e.last_qty, e.cum_qty])).toEqual(
      venue.executions.map((e) => [e.exec_type, e.last_qty, e.cum_qty]),
    );
    expect(averagePrice(decimalUnits(row.filled_notional), row.filled_quantity)).toBe(venue.avg_px);
    expect(venue.cum_qty).toBe(7);

    // One `fill` stream event per fill, each with the order as it stood after it (a status row's state, a fill row's columns), naming its execution.
    const { rows: stream } = await stack.db.query(
      `SELECT s.kind, COALESCE(s.filled_quantity, (jsonb_populate_record(NULL::orders, s.state)).filled_quantity) AS filled,
              COALESCE(s.status, (jsonb_populate_record(NULL::orders, s.state)).status)::text AS status, e.exec_id
         FROM order_stream s LEFT JOIN executions e ON e.id = s.execution_id WHERE s.order_id = $1 ORDER BY s.tx, s.id`,
      [id],
    );
    expect(stream.map((s: { kind: string; filled: number; status: string }) => [s.kind, s.filled, s.status])).toEqual([
      ['status', 0, 'placing'],
      ['status', 0, 'placed'],
      ['fill', 3, 'partially_filled'],
      ['status', 3, 'partially_filled'],
      ['fill', 7, 'filled'],
      ['status', 7, 'filled'],
    ]);
    // The terminal event is in the outbox once; with no workflow for this order the relay marks it relayed.
    const outbox = await waitFor(
      async () => {
        const { rows } = await stack.db.query(
          'SELECT status::text, filled_quantity, relayed_at FROM order_terminal_outbox WHERE order_id = $1',
          [id],
        );
        return rows[0]?.relayed_at ? rows : undefined;
      },
      30_000,
      'the outbox row relayed',
    );
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ status: 'filled', filled_quantity: 7 });
  });

  it('a resting limit order: fills at their prices, a bust takes one back, a cancel keeps what was filled', async () => {
    const [id] = await insertOrders(stack.db, [
      { type: 'limit', side: 'buy', instrument: INSTRUMENT, limitPrice: '150.00', quantity: 10, status: 'placing', timeInForce: 'gtc' },
    ]);
    await venueClient.placeOrder(ticket(id!, { type: 'limit', limitPrice: '150.00', quantity: 10 }));
    await untilStatus(id!, 'placed');
    expect((await stack.control('/control/fill', { order_id: id, qty: 3, px: '149.9901' })).status).toBe(200);
    const second = await stack.control('/control/fill', { order_id: id, qty: 2, px: '149.5' });
    expect(second.status).toBe(200);
    await waitFor(async () => ((await orderRow(id!)).filled_quantity === 5 ? true : undefined), 30_000, '5 filled');
    let row = await orderRow(id!);
    expect(row.status).toBe('partially_filled');
    expect(decimalUnits(row.filled_notional)).toBe(3n * 1_499_901n + 2n * 1_495_000n);
    expect(averagePrice(decimalUnits(row.filled_notional), 5)).toBe('149.794060');

    expect((await stack.control('/control/bust', { exec_id: second.body.exec_id })).status).toBe(200);
    await waitFor(async () => ((await orderRow(id!)).filled_quantity === 3 ? true : undefined), 30_000, 'the bust applied');
    row = await orderRow(id!);
    expect(decimalUnits(row.filled_notional)).toBe(3n * 1_499_901n);

    expect((await stack.control('/control/cancel', { order_id: id })).status).toBe(200);
    row = await untilStatus(id!, 'cancelled');
    expect(row.filled_quantity).toBe(3);
    expect(row.cancelled_at).not.toBeNull();
    const { venue, stored } = await compareWithVenue(id!);
    expect(stored.map((e) => e.exec_id)).toEqual(venue.executions.map((e) => e.exec_id));
    expect(venue.cum_qty).toBe(3);
    expect(averagePrice(decimalUnits(row.filled_notional), 3)).toBe(venue.avg_px);
    expect(await statusHistory(id!)).toEqual(['placing', 'placed', 'partially_filled', 'cancelled']);
    const { rows: outbox } = await stack.db.query('SELECT status::text, filled_quantity FROM order_terminal_outbox WHERE order_id = $1', [
      id,
    ]);
    expect(outbox).toEqual([{ status: 'cancelled', filled_quantity: 3 }]);
  });
});

describe('the orders table', () => {
  it('keeps a fifth of each page free, so that a fill\u2019s update (no indexed column) can stay on its page (HOT)', async () => {
    const { rows } = await stack.db.query("SELECT reloptions FROM pg_class WHERE oid = 'orders'::regclass");
    expect(rows[0].reloptions).toEqual(['fillfactor=80']);
  });
});

/**
 * Each reason is in the process's log (a warning naming it) and in its ingest_rejects_total, at
 * least `counts[reason]` times (1 by default). Both follow the batch's commit: awaited.
 */
async function expectLoggedAndCounted(ingest: IngestProcess, reasons: string[], counts: Record<string, number> = {}) {
  const metricsPort = /"metricsPort":(\d+)/.exec(ingest.output())?.[1];
  expect(metricsPort, 'the ingest process serves its metrics').toBeDefined();
  await waitFor(
    async () => {
      const samples = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
      const logged = ingest
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"execution report rejected"'))
        .map((line) => /"reason":"([a-z_]+)"/.exec(line)?.[1]);
      for (const reason of reasons) {
        const least = counts[reason] ?? 1;
        expect(metricValue(samples, 'ingest_rejects_total', { reason }), `ingest_rejects_total{reason="${reason}"}`).toBeGreaterThanOrEqual(
          least,
        );
        expect(logged.filter((r) => r === reason).length, `warnings logged for ${reason}`).toBeGreaterThanOrEqual(least);
      }
      return true;
    },
    30_000,
    `rejects ${reasons.join(', ')} logged and counted`,
  );
}

describe('bad reports are kept aside and the session goes on', () => {
  it('an unknown order and a fill beyond the order\u2019s quantity are rejects; the next order still fills', async () => {
    const unknown = randomUUID();
    const [small] = await insertOrders(stack.db, [{ instrument: 'LOADTEST0001', quantity: 2, status: 'placed', timeInForce: 'gtc' }]);
    // The venue adopts both with quantity 10 and fills one share at a time: the third fill of
    // `small` is beyond its 2, every report of `unknown` names an order the service lacks.
    const load = await stack.control('/control/load', {
      order_ids: [unknown, small],
      quantity: 10,
      reports_per_second: 200,
      duration_s: 0.05,
    });
    expect(load.status).toBe(202);
    const rejects = await waitFor(
      async () => {
        const { rows } = await stack.db.query('SELECT reason, raw FROM execution_rejects ORDER BY id');
        const reasons = rows.map((row: { reason: string }) => row.reason);
        return reasons.includes('unknown_order') && reasons.includes('fill_beyond_quantity') ? rows : undefined;
      },
      30_000,
      'the rejects',
    );
    const beyond = rejects.find((row: { reason: string }) => row.reason === 'fill_beyond_quantity');
    expect(JSON.parse(beyond.raw).order_id).toBe(small);
    expect(
      rejects.some((row: { reason: string; raw: string }) => row.reason === 'unknown_order' && JSON.parse(row.raw).order_id === unknown),
    ).toBe(true);
    const row = await orderRow(small!);
    expect(row.filled_quantity).toBe(2);
    expect(row.status).toBe('filled');
    // Logged and counted too, by the process that kept them aside, which lives on.
    const ingest = stack.ingests[0]!;
    await expectLoggedAndCounted(ingest, ['unknown_order', 'fill_beyond_quantity']);
    expect(ingest.exited()).toBe(false);

    // The session goes on: a new order fills.
    const [next] = await insertOrders(stack.db, [{ instrument: INSTRUMENT, quantity: 4, status: 'placing', timeInForce: 'gtc' }]);
    await venueClient.placeOrder(ticket(next!, { quantity: 4 }));
    expect((await untilStatus(next!, 'filled')).filled_quantity).toBe(4);
  });

  it('a malformed line and a bad report are rejects; the cum mismatch they cause is repaired by a resend', async () => {
    // A venue of the test's own on the wire, to send what the real one never would.
    const [id] = await insertOrders(stack.db, [{ instrument: INSTRUMENT, quantity: 10, status: 'placed', timeInForce: 'gtc' }]);
    const report = (seq: number, fields: Partial<ExecutionReport>): ExecutionReport => ({
      type: 'execution_report',
      seq,
      poss_dup: false,
      venue: 'SIMX',
      exec_id: `fake-${id}-${seq}`,
      order_id: id!,
      exec_type: 'partial_fill',
      order_status: 'partially_filled',
      side: 'buy',
      last_qty: 0,
      last_px: null,
      cum_qty: 0,
      leaves_qty: 10,
      avg_px: null,
      transact_time: new Date().toISOString(),
      ref_exec_id: null,
      text: null,
      ...fields,
    });
    const good = [
      report(1, { last_qty: 1, last_px: '10.00', cum_qty: 1, leaves_qty: 9, avg_px: '10.000000' }),
      report(2, { last_qty: 2, last_px: '11.00', cum_qty: 3, leaves_qty: 7, avg_px: '10.666667' }),
      report(3, { last_qty: 3, last_px: '12.00', cum_qty: 6, leaves_qty: 4, avg_px: '11.333333' }),
      report(4, { last_qty: 1, last_px: '13.00', cum_qty: 7, leaves_qty: 3, avg_px: '11.571429' }),
    ];
    const received: { type: string; from_seq?: number; to_seq?: number; next_seq?: number }[] = [];
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      const write = (line: string) => socket.write(`${line}\n`);
      onLines(socket, (event) => {
        if (event.kind !== 'line') return;
        const message = JSON.parse(event.text);
        received.push(message);
        if (message.type === 'logon') {
          write(JSON.stringify({ type: 'logon_ack', session: message.session, next_seq: 5 }));
          if (message.next_seq > 1) return;
          write(JSON.stringify(good[0]));
          write('{"type":"execution_report","seq":2,'); // cut off: not JSON, no seq to read
          write(JSON.stringify({ ...good[1], last_px: 'eleven' })); // seq 2, readable, invalid price
          write(JSON.stringify(good[2])); // cum 6, but only 1 + 3 applied: a mismatch
        }
        if (message.type === 'resend_request') {
          for (const resent of good.slice(message.from_seq - 1, message.to_seq)) write(JSON.stringify({ ...resent, poss_dup: true }));
          if (message.to_seq >= 3) write(JSON.stringify(good[3]));
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address() as net.AddressInfo;
    let fake: IngestProcess | undefined;
    try {
      fake = await startIngestProcess({
        DATABASE_URL: stack.databaseUrl,
        VENUE_ADDRESS: `127.0.0.1:${address.port}`,
        VENUE_SESSION: 'fake-venue',
        INGEST_RESEND_TIMEOUT_MS: '500',
        RELAY_INTERVAL_MS: '60000',
        INGEST_METRICS_PORT: '0',
      });
      const row = await waitFor(
        async () => {
          const current = await orderRow(id!);
          return current.filled_quantity === 7 ? current : undefined;
        },
        30_000,
        'the order repaired to 7 filled',
      );
      expect(decimalUnits(row.filled_notional)).toBe((1n * 10n + 2n * 11n + 3n * 12n + 1n * 13n) * 10_000n);
      const { rows: rejects } = await stack.db.query(
        "SELECT seq::int AS seq, reason, raw FROM execution_rejects WHERE session = 'fake-venue' ORDER BY id",
      );
      expect(rejects.map((r: { reason: string }) => r.reason)).toEqual(['malformed', 'malformed', 'cum_qty_mismatch']);
      expect(rejects[0].raw).toBe('{"type":"execution_report","seq":2,');
      expect(rejects[1].seq).toBe(2);
      expect(rejects[2].seq).toBe(3);
      await expectLoggedAndCounted(fake, ['malformed', 'cum_qty_mismatch'], { malformed: 2 });
      expect(fake.exited()).toBe(false);
      expect(received.some((m) => m.type === 'resend_request' && m.from_seq === 1 && m.to_seq === 3)).toBe(true);
      const { rows: executions } = await stack.db.query('SELECT seq::int AS seq FROM executions WHERE order_id = $1 ORDER BY seq', [id]);
      expect(executions.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4]);
      const { rows: session } = await stack.db.query("SELECT next_seq::int AS next_seq FROM venue_sessions WHERE session = 'fake-venue'");
      expect(session[0].next_seq).toBe(5);
    } finally {
      await fake?.stop('SIGKILL');
      server.close();
    }
  });
});
