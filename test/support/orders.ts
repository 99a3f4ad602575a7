import { randomInt, randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { AT_VENUE_STATUSES, type NewOrder, NOTHING_DECIDED, type Order } from '../../domain/order.js';
import { orderStatusQuery } from '../../temporal/messages.js';
import { waitFor } from './wait.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A 12-character instrument no other test (or earlier run on the same database) uses, to find a test's orders. */
export function uniqueInstrument(prefix = 'T'): string {
  let text = prefix;
  while (text.length < 12) text += ALPHABET[randomInt(ALPHABET.length)];
  return text;
}

/** An instrument for tests that do not look their orders up by it. */
export const ISIN = 'US0378331005';
/** Bodies of POST /orders, as a client sends them. */
export const MARKET_BODY = { type: 'market', side: 'buy', instrument: ISIN, quantity: 10 };
export const LIMIT_BODY = { type: 'limit', side: 'sell', instrument: ISIN, limit_price: '10.25', quantity: 10 };

/** The JSON body of a market order, as a client sends it. */
export function marketOrder(instrument: string, quantity = 5, side: 'buy' | 'sell' = 'buy') {
  return { type: 'market', side, instrument, quantity };
}

/** An order as the repository returns it after its insert: pending, with nothing decided yet. */
export function storedOrder(request: Partial<NewOrder> = {}, fields: Partial<Order> = {}): Order {
  return {
    type: 'market',
    side: 'buy',
    instrument: ISIN,
    limitPrice: null,
    quantity: 5,
    timeInForce: 'day',
    ...request,
    id: randomUUID(),
    accountId: DEMO_ACCOUNT_ID,
    clientOrderId: request.clientOrderId ?? null,
    status: 'pending',
    createdAt: new Date('2024-05-06T07:08:09.123Z'),
    ...NOTHING_DECIDED,
    ...fields,
  };
}

/** Whether the exchange has the order: `placed`, or what the venue's reports made of it since (filled, …). */
export function reachedExchange(status: string): boolean {
  return (AT_VENUE_STATUSES as readonly string[]).includes(status);
}

/** The same statuses as an SQL list, for `status IN …`. */
export const REACHED_EXCHANGE_SQL = `(${AT_VENUE_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/**
 * The order's workflow's own view once the exchange has the order (`placed` or later): its
 * workflow lives on until the venue ends the order, so its result is no longer the test's signal.
 */
export async function workflowPlacedStatus(handle: Pick<WorkflowHandle, 'query'>, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    async () => {
      const status = await handle.query(orderStatusQuery);
      return reachedExchange(status) ? status : undefined;
    },
    timeoutMs,
    'the workflow to have placed its order',
  );
}
