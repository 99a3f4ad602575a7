import { expect } from 'vitest';
import { averagePrice, decimalUnits } from '../../domain/decimal.js';
import type { IngestProcess } from '../../scripts/infra/ingest-process.js';
import type { IngestStack } from './ingest-stack.js';
import { waitFor } from './wait.js';

// What the ingest chaos tests (test/system/ingest-chaos.test.ts) wait for and check: who holds
// the session, what ingest committed, and every order against the venue's own view of it.

export const holders = (s: IngestStack) => s.ingests.filter((ingest) => ingest.holdsSession());

export async function untilOneHolder(s: IngestStack, what: string, timeoutMs = 60_000): Promise<IngestProcess> {
  return waitFor(
    async () => {
      const holding = holders(s);
      return holding.length === 1 ? holding[0] : undefined;
    },
    timeoutMs,
    what,
  );
}

export async function committedSeq(s: IngestStack): Promise<number> {
  const { rows } = await s.db.query("SELECT next_seq::int AS next_seq FROM venue_sessions WHERE session = 'ingest'");
  return rows[0]?.next_seq ?? 1;
}

export async function sessionEpoch(s: IngestStack): Promise<number> {
  const { rows } = await s.db.query("SELECT epoch::int AS epoch FROM venue_sessions WHERE session = 'ingest'");
  return rows[0]?.epoch ?? 0;
}

interface OrderRow {
  status: string;
  filled_quantity: number;
  filled_notional: string;
  executions: number;
  summed: number;
}

interface VenueOrder {
  cum_qty: number;
  avg_px: string | null;
  executions: { seq: number }[];
}

/** Waits until every load has ended and ingest has committed every report the venue made (a busy machine stretches both). */
export async function untilAllCommitted(s: IngestStack, timeoutMs = 300_000): Promise<void> {
  await waitFor(
    async () => {
      const stats = (await s.control('/control/stats')).body as { next_seq: number; loads_running: number };
      return stats.loads_running === 0 && (await committedSeq(s)) === stats.next_seq ? true : undefined;
    },
    timeoutMs,
    'the load to end and ingest to commit every report the venue made',
  );
}

/**
 * Once ingest has committed every report the venue made: for each order, the executions
 * summed (busts negative) = the venue's cum = `filled_quantity`, as many executions as the
 * venue made, and the average price of `filled_notional` / `filled_quantity` (domain/decimal.ts)
 * exactly the venue's; no report rejected.
 */
export async function expectSameAsVenue(s: IngestStack, orderIds: string[]): Promise<{ executions: number }> {
  await untilAllCommitted(s);
  const { rows } = await s.db.query(
    `SELECT o.id, o.status::text AS status, o.filled_quantity, o.filled_notional::text AS filled_notional,
            count(e.id)::int AS executions,
            coalesce(sum(CASE WHEN e.exec_type IN ('partial_fill', 'fill') THEN e.last_qty WHEN e.exec_type = 'trade_bust' THEN -e.last_qty ELSE 0 END), 0)::int AS summed
       FROM orders o LEFT JOIN executions e ON e.order_id = o.id
      WHERE o.id = ANY($1::uuid[]) GROUP BY o.id`,
    [orderIds],
  );
  const ours = new Map(rows.map((row: OrderRow & { id: string }) => [row.id, row]));
  let executions = 0;
  const mismatches: string[] = [];
  for (const id of orderIds) {
    const venue = (await s.control(`/control/orders/${id}`)).body as VenueOrder;
    const row = ours.get(id) as OrderRow;
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
  if (mismatches.length > 0) await explain(s, mismatches[0]!.slice(0, 36));
  expect(mismatches).toEqual([]);
  const { rows: rejects } = await s.db.query(
    "SELECT reason, count(*)::int AS n FROM execution_rejects WHERE session = 'ingest' GROUP BY reason",
  );
  expect(rejects).toEqual([]);
  // Every report is stored once: no seq twice (exec ids are unique by the table's key).
  const { rows: doubled } = await s.db.query(
    'SELECT count(*)::int AS n FROM (SELECT seq FROM executions GROUP BY seq HAVING count(*) > 1) d',
  );
  expect(doubled[0].n).toBe(0);
  return { executions };
}

/** For a failure's message: which seqs of one order are missing, the rejects, and what the processes said. */
async function explain(s: IngestStack, orderId: string): Promise<void> {
  const venue = (await s.control(`/control/orders/${orderId}`)).body as VenueOrder;
  const { rows: mine } = await s.db.query('SELECT seq::int AS seq FROM executions WHERE order_id = $1', [orderId]);
  const have = new Set(mine.map((r: { seq: number }) => r.seq));
  console.log(
    'missing seqs',
    venue.executions.filter((e) => !have.has(e.seq)).map((e) => e.seq),
  );
  const { rows: rejects } = await s.db.query('SELECT reason, seq, left(raw, 200) AS raw FROM execution_rejects LIMIT 5');
  console.log('rejects', rejects);
  for (const ingest of s.ingests) {
    const lines = ingest
      .output()
      .split('\n')
      .filter((l) => !l.includes('"level":"debug"'));
    console.log(lines.slice(0, 60).join('\n'));
  }
}

/**
 * Once ingest has committed everything: every account's position in every instrument is its
 * standing executions' (fills not busted), computed here in SQL from the executions table alone,
 * exactly: the quantity as their signed sum, and the average entry price and realised pnl by
 * folding them in executions order with docs/positions.md's rule, in integer units of 10^-6
 * (an indexed temporary table, so that the recursion probes its next fill instead of scanning).
 * Returns how many positions were checked.
 */
export async function expectPositionsFromExecutions(s: IngestStack): Promise<number> {
  const client = await s.db.connect();
  try {
    await client.query('BEGIN');
    await client.query(`CREATE TEMPORARY TABLE standing_fills ON COMMIT DROP AS
      SELECT o.account_id, o.instrument, row_number() OVER (PARTITION BY o.account_id, o.instrument ORDER BY e.id) AS n,
             (CASE WHEN o.side = 'buy' THEN e.last_qty ELSE -e.last_qty END)::numeric AS qty, e.last_px * 1000000 AS px, e.venue_time
        FROM executions e JOIN orders o ON o.id = e.order_id
       WHERE e.exec_type IN ('partial_fill', 'fill')
         AND NOT EXISTS (SELECT 1 FROM executions b WHERE b.order_id = e.order_id AND b.exec_type = 'trade_bust' AND b.ref_exec_id = e.exec_id)`);
    await client.query('CREATE INDEX ON standing_fills (account_id, instrument, n)');
    await client.query('ANALYZE standing_fills');
    const { rows: sums } = await client.query(`
      SELECT f.account_id, f.instrument, sum(f.qty)::bigint::text AS summed, p.quantity::text AS quantity
        FROM standing_fills f LEFT JOIN positions p ON p.account_id = f.account_id AND p.instrument = f.instrument
       GROUP BY f.account_id, f.instrument, p.quantity`);
    for (const row of sums) expect(row.quantity, `${row.account_id} ${row.instrument}`).toBe(row.summed);
    const { rows: folded } = await client.query(`
      WITH RECURSIVE fold AS (
        SELECT account_id, instrument, n, qty AS quantity, px AS average, 0::numeric AS pnl, venue_time FROM standing_fills WHERE n = 1
        UNION ALL
        SELECT f.account_id, f.instrument, f.n, p.quantity + f.qty,
               CASE WHEN p.quantity = 0 OR sign(p.quantity) = sign(f.qty)
                      THEN div(2 * (abs(p.quantity) * p.average + abs(f.qty) * f.px) + abs(p.quantity) + abs(f.qty),
                               2 * (abs(p.quantity) + abs(f.qty)))
                    WHEN p.quantity + f.qty = 0 THEN 0
                    WHEN sign(p.quantity + f.qty) = sign(p.quantity) THEN p.average
                    ELSE f.px END,
               p.pnl + CASE WHEN p.quantity = 0 OR sign(p.quantity) = sign(f.qty) THEN 0
                            ELSE least(abs(p.quantity), abs(f.qty)) * (f.px - p.average) * sign(p.quantity) END,
               f.venue_time
          FROM fold p JOIN standing_fills f ON f.account_id = p.account_id AND f.instrument = p.instrument AND f.n = p.n + 1
      ), last AS (
        SELECT DISTINCT ON (account_id, instrument) * FROM fold ORDER BY account_id, instrument, n DESC
      )
      SELECT l.account_id, l.instrument,
             l.quantity::bigint::text AS want_quantity, (l.average / 1000000)::numeric(30,6)::text AS want_average,
             (l.pnl / 1000000)::numeric(38,6)::text AS want_pnl,
             p.quantity::text AS quantity, p.average_entry_price::text AS average, p.realized_pnl::text AS pnl
        FROM last l LEFT JOIN positions p ON p.account_id = l.account_id AND p.instrument = l.instrument`);
    for (const row of folded) {
      expect({ quantity: row.quantity, average: row.average, pnl: row.pnl }, `position of ${row.account_id} in ${row.instrument}`).toEqual({
        quantity: row.want_quantity,
        average: row.want_average,
        pnl: row.want_pnl,
      });
    }
    expect(folded.length).toBe(sums.length);
    await client.query('COMMIT');
    return folded.length;
  } finally {
    client.release();
  }
}
