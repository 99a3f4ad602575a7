import { randomInt, randomUUID } from 'node:crypto';
import { type NewOrder, NOTHING_DECIDED, type Order } from '../../domain/order.js';

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
    status: 'pending',
    createdAt: new Date('2024-05-06T07:08:09.123Z'),
    ...NOTHING_DECIDED,
    ...fields,
  };
}
