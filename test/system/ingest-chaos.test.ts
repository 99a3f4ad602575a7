import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { averagePrice, decimalUnits } from '../../domain/decimal.js';
import type { IngestProcess } from '../../scripts/infra/ingest-process.js';
import { type IngestStack, insertOrders, startIngestStack } from '../support/ingest-stack.js';
import { waitFor } from '../support/wait.js';

// The ingestion process under faults, against the real venue process, on a database of each
// test's own: leadership hand-over on SIGKILL, and a long stream through kills of ingest, dropped
// sockets, a venue restart, duplicates and reordered resends, after which the service's view of
// every order is exactly the venue's.
const LOAD_INSTRUMENT = 'LOADTEST0001';
let stack: IngestStack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const holders = (s: IngestStack) => s.ingests.filter((ingest) => ingest.holdsSession());

async function untilOneHolder(s: IngestStack, what: string): Promise<IngestProcess> {
  return waitFor(
    async () => {
      const holding = holders(s);
      return holding.length === 1 ? holding[0] : undefined;
    },
    60_000,
    what,
  );
}

async function committedSeq(s: IngestStack): Promise<number> {
  const { rows } = await s.db.query("SELECT next_seq::int AS next_seq FROM venue_sessions WHERE session = 'ingest'");
  return rows[0]?.next_seq ?? 1;
}

/** Waits until ingest has committed every report the venue made, then compares each order with the venue's view. */
async function expectSameAsVenue(s: IngestStack, orderIds: string[]): Promise<{ executions: number }> {
  await waitFor(
    async () => {
      // A busy machine stretches the load past its duration: ingest may catch up with a venue still streaming.
      const stats = (await s.control('/control/stats')).body as { next_seq: number; loads_running: number };
      return stats.loads_running === 0 && (await committedSeq(s)) === stats.next_seq ? true : undefined;
    },
    180_000,
    'the load to end and ingest to commit every report the venue made',
  );
  const { rows } = await s.db.query(
    `SELECT o.id, o.status::text AS status, o.filled_quantity, o.filled_notional::text AS filled_notional,
            count(e.id)::int AS executions,
            coalesce(sum(CASE WHEN e.exec_type IN ('partial_fill', 'fill') THEN e.last_qty WHEN e.exec_type = 'trade_bust' THEN -e.last_qty ELSE 0 END), 0)::int AS summed
       FROM orders o LEFT JOIN executions e ON e.order_id = o.id
      WHERE o.id = ANY($1::uuid[]) GROUP BY o.id`,
    [orderIds],
  );
  const ours = new Map(rows.map((row: { id: string }) => [row.id, row]));
  let executions = 0;
  const mismatches: string[] = [];
  for (const id of orderIds) {
    const venue = (await s.control(`/control/orders/${id}`)).body as {
      cum_qty: number;
      avg_px: string | null;
      executions: unknown[];
      status: string;
    };
    const row = ours.get(id) as unknown as {
      status: string;
      filled_quantity: number;
      filled_notional: string;
      executions: number;
      summed: number;
    };
    executions += row.executions;
    const average = averagePrice(decimalUnits(row.filled_notional), row.filled_quantity);
    if (
      row.summed !== venue.cum_qty ||
      row.filled_quantity !== venue.cum_qty ||
      row.executions !== venue.executions.length ||
      average !== venue.avg_px
    ) {
      mismatches.push(
        `${id}: ours ${JSON.stringify({ ...row, average })} venue ${JSON.stringify({ cum: venue.cum_qty, n: venue.executions.length, avg: venue.avg_px })}`,
      );
    }
  }
  if (mismatches.length > 0) {
    // For the failure message: which seqs of one order are missing, the rejects, and what the processes said.
    const id = mismatches[0]!.slice(0, 36);
    const venue = (await s.control(`/control/orders/${id}`)).body as { executions: { seq: number }[] };
    const { rows: mine } = await s.db.query('SELECT seq::int AS seq FROM executions WHERE order_id = $1', [id]);
    const have = new Set(mine.map((r: { seq: number }) => r.seq));
    console.log(
      'missing seqs',
      venue.executions.filter((e) => !have.has(e.seq)).map((e) => e.seq),
    );
    const { rows: rejects } = await s.db.query('SELECT reason, seq, left(raw, 200) AS raw FROM execution_rejects LIMIT 5');
    console.log('rejects', rejects);
    for (const ingest of s.ingests)
      console.log(
        ingest
          .output()
          .split('\n')
          .filter((l) => !l.includes('"level":"debug"'))
          .slice(0, 60)
          .join('\n'),
      );
  }
  expect(mismatches).toEqual([]);
  const { rows: rejects } = await s.db.query(
    "SELECT reason, count(*)::int AS n FROM execution_rejects WHERE session = 'ingest' GROUP BY reason",
  );
  expect(rejects).toEqual([]);
  return { executions };
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

    const orderIds = await insertOrders(
      s.db,
      Array.from({ length: 100 }, () => ({
        type: 'limit' as const,
        instrument: LOAD_INSTRUMENT,
        limitPrice: '10.00',
        quantity: 1000,
        status: 'placed',
        timeInForce: 'gtc' as const,
      })),
    );
    expect(
      (await s.control('/control/load', { order_ids: orderIds, quantity: 1000, reports_per_second: 1000, duration_s: 6 })).status,
    ).toBe(202);
    await waitFor(async () => ((await committedSeq(s)) > 1500 ? true : undefined), 60_000, 'the stream under way');
    const killedAt = Date.now();
    await first.stop('SIGKILL');
    const second = await untilOneHolder(s, 'the standby to take the session over');
    const handOverMs = Date.now() - killedAt;
    console.log(`ingest hand-over after SIGKILL: ${handOverMs} ms`);
    // The lock is freed when PostgreSQL sees the connection close; the standby tries every second.
    expect(handOverMs).toBeLessThan(15_000);
    expect(second).not.toBe(first);
    const { rows } = await s.db.query("SELECT epoch::int AS epoch FROM venue_sessions WHERE session = 'ingest'");
    expect(rows[0].epoch).toBe(2);
    const { executions } = await expectSameAsVenue(s, orderIds);
    expect(executions).toBeGreaterThanOrEqual(100 + 6000);
  }, 300_000);
});

describe('chaos', () => {
  it('through 3 SIGKILLs of ingest, dropped sockets, a venue restart, duplicates and reordered resends, every order ends as the venue has it', async () => {
    stack = await startIngestStack({ prefix: 'ingest_chaos' });
    const s = stack;
    const ORDERS = 1000;
    const RATE = 2000;
    const orderIds = await insertOrders(
      s.db,
      Array.from({ length: ORDERS }, () => ({
        type: 'limit' as const,
        instrument: LOAD_INSTRUMENT,
        limitPrice: '10.00',
        quantity: 100,
        status: 'placed',
        timeInForce: 'gtc' as const,
      })),
    );
    // One holder and a standby for each kill, started before the stream (a start takes seconds on a busy machine).
    await Promise.all(Array.from({ length: 4 }, () => s.startIngest()));
    await untilOneHolder(s, 'a process to hold the session');
    const faults = () => s.control('/control/faults', { duplicates: 0.2, reorder: true });
    await faults();
    expect((await s.control('/control/load', { order_ids: orderIds, quantity: 100, reports_per_second: RATE, duration_s: 6 })).status).toBe(
      202,
    );

    const started = Date.now();
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
      await sleep(1500);
      await killHolder();
      await sleep(1000);
      // The venue restarts (its load with it): what it logged survives, numbering goes on.
      await s.restartVenue('SIGKILL');
      await faults();
      expect(
        (await s.control('/control/load', { order_ids: orderIds, quantity: 100, reports_per_second: RATE, duration_s: 8 })).status,
      ).toBe(202);
      await sleep(1500);
      await killHolder();
      // Some orders end during the chaos: their terminal event must be in the outbox once.
      for (const id of orderIds.slice(0, 50)) await s.control('/control/cancel', { order_id: id });
      await sleep(1500);
      await killHolder();
      await sleep(1500);
    } finally {
      dropping = false;
      await dropper;
    }
    await s.control('/control/faults', { duplicates: 0, reorder: false });
    const { executions } = await expectSameAsVenue(s, orderIds);
    console.log(
      `chaos: ${executions} executions for ${ORDERS} orders, ingest killed at ${kills.join(', ')} ms, all committed after ${Date.now() - started} ms`,
    );
    expect(kills).toHaveLength(3);
    expect(executions).toBeGreaterThanOrEqual(20_000);

    const { rows: outbox } = await s.db.query('SELECT order_id, status::text AS status, filled_quantity FROM order_terminal_outbox');
    expect(outbox).toHaveLength(50);
    for (const row of outbox as { order_id: string; status: string; filled_quantity: number }[]) {
      expect(orderIds.slice(0, 50)).toContain(row.order_id);
      expect(row.status).toBe('cancelled');
      expect(row.filled_quantity).toBe((await s.control(`/control/orders/${row.order_id}`)).body.cum_qty);
    }
    const { rows: statuses } = await s.db.query(
      "SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'cancelled'",
      [orderIds],
    );
    expect(statuses[0].n).toBe(50);
    const { rows: duplicated } = await s.db.query(
      'SELECT count(*)::int AS n FROM (SELECT seq FROM executions GROUP BY seq HAVING count(*) > 1) d',
    );
    expect(duplicated[0].n).toBe(0);
  }, 600_000);
});
