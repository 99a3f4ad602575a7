import { afterEach, describe, expect, it } from 'vitest';
import type { IngestProcess } from '../../scripts/infra/ingest-process.js';
import { committedSeq, expectSameAsVenue, sessionEpoch, untilAllCommitted, untilOneHolder } from '../support/ingest-checks.js';
import { type IngestStack, insertOrders, startIngestStack } from '../support/ingest-stack.js';
import { waitFor } from '../support/wait.js';

// A process that stops (SIGSTOP: a VM paused, a machine swapping, a debugger) without closing a
// connection, for longer than every timeout on either side, while the stream runs at 10,000
// reports/s; then SIGCONT. The ingest's timeouts here: the lease's TTL (INGEST_LEASE_TTL_MS),
// resend (INGEST_RESEND_TIMEOUT_MS), the lock connection's liveness query (3 s), the statement
// timeout (DB_STATEMENT_TIMEOUT_MS), the relay's signal deadline (RELAY_TIMEOUT_MS), reconnect
// backoff; the venue's heartbeat (300 ms in the stack). The freeze outlasts the longest of them.
const LOAD_INSTRUMENT = 'LOADTEST0001';
const RATE = 10_000;
const INGEST_ENV = {
  INGEST_LEASE_TTL_MS: '3000',
  INGEST_RESEND_TIMEOUT_MS: '1000',
  DB_STATEMENT_TIMEOUT_MS: '8000',
  RELAY_TIMEOUT_MS: '2000',
};
const FREEZE_MS = 10_000;
let stack: IngestStack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function loadOrders(s: IngestStack, count: number): Promise<string[]> {
  return insertOrders(
    s.db,
    Array.from({ length: count }, () => ({
      type: 'limit' as const,
      instrument: LOAD_INSTRUMENT,
      limitPrice: '10.00',
      quantity: 1_000_000,
      status: 'placed',
      timeInForce: 'gtc' as const,
    })),
  );
}

async function startLoad(s: IngestStack, orderIds: string[], durationS: number): Promise<void> {
  const body = { order_ids: orderIds, quantity: 1_000_000, reports_per_second: RATE, duration_s: durationS };
  expect((await s.control('/control/load', body)).status).toBe(202);
}

/** Until `ms` have passed since `since`, and `also` holds (the freeze is long enough and has done what it must). */
async function untilFrozenFor(since: number, ms: number, what: string, also: () => Promise<boolean> = async () => true): Promise<void> {
  await waitFor(async () => (Date.now() - since >= ms && (await also()) ? true : undefined), ms + 120_000, what);
}

describe('a frozen ingest', () => {
  it('SIGSTOPped holder: the standby takes the session over; after SIGCONT the stopped one is fenced, nothing lost or doubled', async () => {
    stack = await startIngestStack({ prefix: 'ingest_freeze', ingestEnv: INGEST_ENV });
    const s = stack;
    const orderIds = await loadOrders(s, 200);
    const [one, two] = await Promise.all([s.startIngest(), s.startIngest()]);
    const frozen = await untilOneHolder(s, 'a process to hold the session');
    const standby = (frozen === one ? two : one) as IngestProcess;
    await startLoad(s, orderIds, 15);
    await waitFor(async () => ((await committedSeq(s)) > 10_000 ? true : undefined), 60_000, 'the stream under way');
    const epochBefore = await sessionEpoch(s);

    frozen.signal('SIGSTOP');
    const frozenAt = Date.now();
    // Its lock connection goes idle: PostgreSQL ends it after the lease's TTL, and the standby wins the lock.
    await waitFor(async () => (standby.holdsSession() ? true : undefined), 60_000, 'the standby to take the session over');
    const takenOverMs = Date.now() - frozenAt;
    const committedAtTakeOver = await committedSeq(s);
    // Terminal events while it is stopped: the new holder's, one each.
    for (const id of orderIds.slice(0, 10)) expect((await s.control('/control/cancel', { order_id: id })).status).toBe(200);
    await untilFrozenFor(frozenAt, FREEZE_MS, 'the freeze to outlast every timeout and the new holder to commit', async () => {
      return (await committedSeq(s)) > committedAtTakeOver + 10_000;
    });
    frozen.signal('SIGCONT');
    const frozenMs = Date.now() - frozenAt;

    // It wakes to a lost lock and a moved epoch: whatever batch it had is refused, and it gives up.
    await waitFor(async () => (frozen.holdsSession() ? undefined : true), 60_000, 'the resumed process to give the session up');
    expect(await untilOneHolder(s, 'the standby alone to hold the session')).toBe(standby);
    // It stands by again: nothing it met on waking may crash it.
    if (frozen.exited()) console.log(frozen.output().split('\n').slice(-40).join('\n'));
    expect(frozen.exited()).toBe(false);
    expect(await sessionEpoch(s)).toBeGreaterThan(epochBefore);
    const gaveUp = frozen
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"gave up the venue session"'))
      .map((line) => (JSON.parse(line) as { why: string }).why);
    // Its lock connection was gone ('lost'), or a batch it started on waking was refused ('fenced').
    expect(gaveUp.length).toBe(1);
    expect(['lost', 'fenced']).toContain(gaveUp[0]);
    console.log(
      `frozen ingest: stopped ${frozenMs} ms, the standby held the session after ${takenOverMs} ms; the resumed one: ${gaveUp[0]}`,
    );
    await expectSameAsVenue(s, orderIds);
    const { rows: outbox } = await s.db.query('SELECT status::text AS status FROM order_terminal_outbox');
    expect(outbox).toEqual(Array.from({ length: 10 }, () => ({ status: 'cancelled' })));
  }, 600_000);
});

describe('a frozen venue', () => {
  it('SIGSTOPped venue, with a gap open and resends unanswered: after SIGCONT nothing is lost', async () => {
    stack = await startIngestStack({ prefix: 'venue_freeze', ingestEnv: INGEST_ENV });
    const s = stack;
    const orderIds = await loadOrders(s, 200);
    await s.startIngest();
    const holder = await untilOneHolder(s, 'a process to hold the session');
    await s.control('/control/faults', { duplicates: 0.2, reorder: true });
    await startLoad(s, orderIds, 12);
    await waitFor(async () => ((await committedSeq(s)) > 10_000 ? true : undefined), 60_000, 'the stream under way');
    // Reports left out of the live stream: ingest asks for them again, likely of a venue already stopped.
    await s.control('/control/faults', { skip: 500 });
    s.venue.signal('SIGSTOP');
    const frozenAt = Date.now();
    await untilFrozenFor(frozenAt, FREEZE_MS, 'the freeze to outlast every timeout');
    s.venue.signal('SIGCONT');
    const frozenMs = Date.now() - frozenAt;
    // The load makes what it owes by the clock: the freeze's share comes at once after it.
    await untilAllCommitted(s);
    await s.control('/control/faults', { duplicates: 0, reorder: false });
    const { executions } = await expectSameAsVenue(s, orderIds);
    console.log(`frozen venue: stopped ${frozenMs} ms; ${executions} executions`);
    expect(executions).toBe(200 + RATE * 12);
    // The skipped reports came back by resend (asked for before the freeze, or after it).
    expect((await s.control('/control/stats')).body.reports_resent).toBeGreaterThanOrEqual(500);
    expect(holder.holdsSession()).toBe(true);
  }, 600_000);
});
