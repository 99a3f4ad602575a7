/** The bounds of an order's fields, as the database stores them, and of a page of the order list. */

/** An instrument is an ISIN: exactly 12 characters. */
export const INSTRUMENT_LENGTH = 12;
/** The largest quantity: PostgreSQL INTEGER. */
export const MAX_QUANTITY = 2_147_483_647;
/** The largest limit price, as exact decimal text: NUMERIC(18,2). */
export const MAX_LIMIT_PRICE_TEXT = '9999999999999999.99';

/** GET /orders: orders in a page when the client names no limit, and the most it may ask for. */
export const LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

/**
 * DELETE /orders: the most open orders one call cancels (its answer lists each; `has_more` says
 * more remain), and how many of them it asks (or awaits) of Temporal at once.
 */
export const CANCEL_ALL_LIMIT = { orders: 500, concurrency: 32 } as const;
