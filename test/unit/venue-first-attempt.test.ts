import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OrderPlacementError } from '../../exchange/errors.js';
import type { ExchangeLedger } from '../../exchange/exchange-ledger.js';
import type { VenueOrder } from '../../exchange/protocol.js';
import { Book } from '../../exchange/venue/book.js';
import { createOrderEntry, type EntryOptions } from '../../exchange/venue/order-entry.js';
import type { Simulation } from '../../exchange/venue/simulation.js';

// The venue's firstAttemptFails hook (entry_options first_attempt_fails, a worker's
// EXCHANGE_FIRST_ATTEMPT_FAILS): the first new_order of each id fails as a random failure does,
// the retry goes through, so a bench or a test gets exactly one retry per order.
function orderEntry(failedOnceLimit?: number) {
  let seq = 0;
  const book = new Book(
    { takeSeq: () => ++seq, append: () => {}, lineAt: async () => undefined },
    undefined,
    () => new Date('2030-01-01T21:00:00.000Z'),
  );
  const accepted = new Set<string>();
  const ledger = {
    accept: async (order: { id: string }) => {
      if (accepted.has(order.id)) return 'duplicate';
      accepted.add(order.id);
      return 'accepted';
    },
  } as Pick<ExchangeLedger, 'accept'> as ExchangeLedger;
  // Nothing to work: the test asks only what new_order answers.
  const simulation = { work: () => {} } as Pick<Simulation, 'work'> as Simulation;
  return createOrderEntry({
    book,
    ledger,
    simulation,
    // A draw that never fails at failure rate 0 (a failure needs a draw ≥ 1 - rate).
    random: () => 0.999,
    dayExpiry: () => new Date('2030-01-01T21:00:00.000Z'),
    ...(failedOnceLimit !== undefined ? { failedOnceLimit } : {}),
  });
}

const order = (): VenueOrder => ({
  id: randomUUID(),
  type: 'limit',
  side: 'buy',
  instrument: 'TESTFIRST001',
  limit_price: '10.00',
  stop_price: null,
  quantity: 10,
  time_in_force: 'gtc',
});

const FAILS_FIRST: EntryOptions = { failureRate: 0, latencyMs: 0, firstAttemptFails: true };
const PLACEMENT_ERROR = { type: 'error', error: 'OrderPlacementError', message: new OrderPlacementError().message };

describe('first_attempt_fails at the venue', () => {
  it("fails an id's first new_order as a random failure does, and accepts its second", async () => {
    const entry = orderEntry();
    const first = order();
    expect(await entry.newOrder('r1', first, FAILS_FIRST)).toEqual({ req_id: 'r1', ...PLACEMENT_ERROR });
    expect(await entry.newOrder('r2', first, FAILS_FIRST)).toMatchObject({ type: 'new_order_result', result: 'accepted' });
    expect(await entry.newOrder('r3', first, FAILS_FIRST)).toMatchObject({ type: 'new_order_result', result: 'duplicate' });
  });

  it("fails another id's first new_order too", async () => {
    const entry = orderEntry();
    const first = order();
    const second = order();
    await entry.newOrder('r1', first, FAILS_FIRST);
    await entry.newOrder('r2', first, FAILS_FIRST);
    expect(await entry.newOrder('r3', second, FAILS_FIRST)).toMatchObject(PLACEMENT_ERROR);
    expect(await entry.newOrder('r4', second, FAILS_FIRST)).toMatchObject({ result: 'accepted' });
  });

  it('is off by default', async () => {
    const entry = orderEntry();
    expect(await entry.newOrder('r1', order(), { failureRate: 0, latencyMs: 0 })).toMatchObject({ result: 'accepted' });
  });

  it('still applies the failure rate to the attempts after the first', async () => {
    const entry = orderEntry();
    const first = order();
    await entry.newOrder('r1', first, FAILS_FIRST);
    expect(await entry.newOrder('r2', first, { ...FAILS_FIRST, failureRate: 1 })).toMatchObject(PLACEMENT_ERROR);
  });

  it('remembers a bounded number of ids: past the limit the oldest is forgotten and fails once more', async () => {
    const entry = orderEntry(2);
    const [a, b, c] = [order(), order(), order()];
    for (const each of [a, b, c]) await entry.newOrder('r', each, FAILS_FIRST);
    // b and c are remembered; a was evicted when c came.
    expect(await entry.newOrder('r', c, FAILS_FIRST)).toMatchObject({ result: 'accepted' });
    expect(await entry.newOrder('r', a, FAILS_FIRST)).toMatchObject(PLACEMENT_ERROR);
  });
});
