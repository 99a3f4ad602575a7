import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  committedSeq,
  expectPositionsFromExecutions,
  expectSameAsVenue,
  holders,
  sessionEpoch,
  untilAllCommitted,
  untilOneHolder,
} from '../support/ingest-checks.js';
import { type IngestStack, insertOrders, startIngestStack } from '../support/ingest-stack.js';
import { type SignalProbes, startSignalProbes } from '../support/signal-probes.js';
import { meterVenueRate } from '../support/venue-rate.js';
import { waitFor } from '../support/wait.js';

// The ingestion process under faults, against the real venue process, on a database of each
// test's own: leadership hand-over on SIGKILL, and a stream offered at 10,000 reports/s through
// kills of ingest, dropped sockets, a venue restart, duplicates and reordered resends, after
// which the service's view of every order is exactly the venue's. Only correctness is asserted,
// once the backlog has drained: how fast ingest keeps up depends on what else the machine runs.
// The orders are buys and sells of a few instruments by two accounts, so that positions go
// long, short and through zero; busts of earlier fills make the ingestion fold positions again.
const LOAD_INSTRUMENTS = ['LOADTEST0001', 'LOADTEST0002', 'LOADTEST0003'];
const RATE = 10_000;
let stack: IngestStack | undefined;
let probes: SignalProbes | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  await probes?.close();
  probes = undefined;
});

const workingOrders = (count: number, quantity: number, accounts: readonly (string | undefined)[] = [undefined]) =>
  Array.from({ length: count }, (_, i) => ({
    type: 'limit' as const,
    side: Math.floor(i / LOAD_INSTRUMENTS.length) % 2 === 0 ? ('buy' as const) : ('sell' as const),
    instrument: LOAD_INSTRUMENTS[i % LOAD_INSTRUMENTS.length]!,
    accountId: accounts[Math.floor(i / (2 * LOAD_INSTRUMENTS.length)) % accounts.length],
    limitPrice: '10.00',
    quantity,
    status: 'placed',
    timeInForce: 'gtc' as const,
  }));

/** Fills the venue's load made since it (re)started. */
async function venueFills(s: IngestStack): Promise<{ fills: number; loading: boolean }> {
  const stats = (await s.control('/control/stats')).body as { loads_running: number; reports_made: Record<string, number> };
  return { fills: stats.reports_made.partial_fill ?? 0, loading: stats.loads_running > 0 };
}

/** Paces the faults by the stream, not the clock: until the venue has made `fills` since it started, or its load is over. */
async function untilVenueMade(s: IngestStack, fills: number): Promise<number> {
  return waitFor(
    async () => {
      const now = await venueFills(s);
      return now.fills >= fills || !now.loading ? now.fills : undefined;
    },
    120_000,
    `the venue to make ${fills} fills`,
  );
}

describe('two ingest processes', () => {
  it('exactly one holds the session; SIGKILL of the holder hands it over within seconds, nothing lost or doubled', async () => {
    stack = await startIngestStack({ prefix: 'ingest_pair' });
    const s = stack;
    await s.startIngest();
    const first = await untilOneHolder(s, 'the first process to hold the session');
    await s.startIngest();
    // The second stands by: it tries the lock every second and never gets it while the first lives.
    await sleep(2500);
    expect(holders(s)).toEqual([first]);
    expect((await s.control('/control/stats')).body.sessions).toEqual(['ingest']);

    const orderIds = await insertOrders(s.db, workingOrders(100, 1000));
    expect(
      (await s.control('/control/load', { order_ids: orderIds, quantity: 1000, reports_per_second: RATE, duration_s: 6 })).status,
    ).toBe(202);
    await waitFor(async () => ((await committedSeq(s)) > 15_000 ? true : undefined), 60_000, 'the stream under way');
    const killedAt = Date.now();
    await first.stop('SIGKILL');
    const second = await untilOneHolder(s, 'the standby to take the session over');
    const handOverMs = Date.now() - killedAt;
    console.log(`ingest hand-over after SIGKILL: ${handOverMs} ms`);
    // The lock is freed when PostgreSQL sees the connection close; the standby tries every second.
    expect(handOverMs).toBeLessThan(15_000);
    expect(second).not.toBe(first);
    expect(await sessionEpoch(s)).toBe(2);
    const { executions } = await expectSameAsVenue(s, orderIds);
    expect(executions).toBe(100 + RATE * 6);
    expect(await expectPositionsFromExecutions(s)).toBe(LOAD_INSTRUMENTS.length);
  }, 300_000);
});

describe('chaos', () => {
  it('offered 10,000 reports/s through 3 SIGKILLs of ingest, dropped sockets, a venue restart, duplicates and reordered resends: every order ends as the venue has it, one terminal event each', async () => {
    stack = await startIngestStack({ prefix: 'ingest_chaos' });
    const s = stack;
    const ORDERS = 1000;
    // Far more than the fills it gets: the load never completes an order.
    const QUANTITY = 100_000;
    const { rows: created } = await s.db.query("INSERT INTO accounts (name) VALUES ('chaos-positions') RETURNING id");
    const orderIds = await insertOrders(s.db, workingOrders(ORDERS, QUANTITY, [undefined, created[0].id as string]));
    const cancelled = orderIds.slice(0, 50);
    probes = await startSignalProbes(cancelled);
    // One holder and a standby for each kill, started before the stream (a start takes seconds on a busy machine).
    await Promise.all(Array.from({ length: 4 }, () => s.startIngest()));
    await untilOneHolder(s, 'a process to hold the session');
    const faults = () => s.control('/control/faults', { duplicates: 0.2, reorder: true });
    const load = async (durationS: number) =>
      expect(
        (await s.control('/control/load', { order_ids: orderIds, quantity: QUANTITY, reports_per_second: RATE, duration_s: durationS }))
          .status,
      ).toBe(202);
    // Fills at prices of their own for a tenth of the orders, so that averages are not all the load's one price.
    const PRICES = ['10.0137', '9.9981', '10.3333', '9.7071'];
    let round = 0;
    const oddFillIds: string[] = [];
    const oddFills = async () => {
      round += 1;
      // A few of the previous rounds' fills are busted: their positions are folded again, with the fills after them.
      for (const execId of oddFillIds.splice(0, oddFillIds.length).filter((_, i) => i % 10 === round % 10)) {
        expect((await s.control('/control/bust', { exec_id: execId })).status).toBe(200);
      }
      for (const [i, id] of orderIds.slice(50, 150).entries()) {
        const fill = await s.control('/control/fill', {
          order_id: id,
          qty: 1 + ((i + round) % 3),
          px: PRICES[(i + round) % PRICES.length],
        });
        expect(fill.status).toBe(200);
        oddFillIds.push((fill.body as { exec_id: string }).exec_id);
      }
    };

    await faults();
    // Ended by the venue's restart below.
    await load(60);
    const started = Date.now();
    const meter = meterVenueRate(s);
    let dropping = true;
    const dropper = (async () => {
      while (dropping) {
        await sleep(2000);
        if (dropping) await s.control('/control/faults', { drop_connections: true }).catch(() => {});
      }
    })();
    const kills: number[] = [];
    const killHolder = async () => {
      const holder = await untilOneHolder(s, 'a holder to kill');
      await holder.stop('SIGKILL');
      kills.push(Date.now() - started);
      await untilOneHolder(s, 'a standby to take over');
    };
    try {
      await untilVenueMade(s, 15_000);
      await killHolder();
      await oddFills();
      await untilVenueMade(s, (await venueFills(s)).fills + 10_000);
      // The venue restarts (its load with it): what it logged survives, numbering goes on.
      await s.restartVenue('SIGKILL');
      await faults();
      await load(15);
      await untilVenueMade(s, 15_000);
      await killHolder();
      // Some orders end during the chaos: each must have one terminal event in the outbox, one signal.
      for (const id of cancelled) expect((await s.control('/control/cancel', { order_id: id })).status).toBe(200);
      await oddFills();
      await untilVenueMade(s, (await venueFills(s)).fills + 15_000);
      await killHolder();
      await oddFills();
      await untilVenueMade(s, (await venueFills(s)).fills + 15_000);
    } finally {
      dropping = false;
      await dropper;
    }
    const rate = await meter.stop();
    const faultsMs = Date.now() - started;
    await s.control('/control/faults', { duplicates: 0, reorder: false });
    const { executions } = await expectSameAsVenue(s, orderIds);
    console.log(
      `chaos: offered ${RATE} reports/s; the venue made ${rate.perSecond}/s (${rate.fills} fills in ${rate.seconds.toFixed(1)} s of load) ` +
        `during the ${(faultsMs / 1000).toFixed(1)} s of faults; ${executions} executions for ${ORDERS} orders, ` +
        `ingest killed at ${kills.join(', ')} ms, all committed after ${Date.now() - started} ms`,
    );
    expect(kills).toHaveLength(3);
    expect(executions).toBeGreaterThanOrEqual(100_000);
    // Every account's position in every instrument is its standing executions', exactly.
    expect(await expectPositionsFromExecutions(s)).toBe(2 * LOAD_INSTRUMENTS.length);
    const { rows: busts } = await s.db.query("SELECT count(*)::int AS n FROM executions WHERE exec_type = 'trade_bust'");
    expect(busts[0].n).toBeGreaterThan(0);

    const { rows: outbox } = await s.db.query('SELECT order_id, status::text AS status, filled_quantity FROM order_terminal_outbox');
    expect(outbox).toHaveLength(cancelled.length);
    for (const row of outbox as { order_id: string; status: string; filled_quantity: number }[]) {
      expect(cancelled).toContain(row.order_id);
      expect(row.status).toBe('cancelled');
      expect(row.filled_quantity).toBe((await s.control(`/control/orders/${row.order_id}`)).body.cum_qty);
    }
    const { rows: statuses } = await s.db.query(
      "SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'cancelled'",
      [orderIds],
    );
    expect(statuses[0].n).toBe(cancelled.length);
    // The relay delivers at least once: a kill between Temporal's accepting a signal and the row's
    // mark sends it again (docs/executions.md), and the workflow takes the first. So each workflow
    // has its order's one terminal event, as signals that all say the same.
    await untilRelayed(s);
    let repeated = 0;
    for (const row of outbox as { order_id: string; filled_quantity: number }[]) {
      const signals = await probes.terminalSignals(row.order_id);
      expect(signals.length).toBeGreaterThanOrEqual(1);
      expect(new Set(signals.map((signal) => JSON.stringify(signal)))).toEqual(
        new Set([JSON.stringify({ status: 'cancelled', filledQuantity: row.filled_quantity })]),
      );
      repeated += signals.length > 1 ? 1 : 0;
    }
    console.log(`chaos: terminal signals for ${outbox.length} orders, ${repeated} of them signalled again`);
  }, 600_000);
});

async function untilRelayed(s: IngestStack): Promise<void> {
  await untilAllCommitted(s);
  await waitFor(
    async () => {
      const { rows } = await s.db.query('SELECT count(*)::int AS n FROM order_terminal_outbox WHERE relayed_at IS NULL');
      return rows[0].n === 0 ? true : undefined;
    },
    120_000,
    'the relay to signal every terminal event',
  );
}
