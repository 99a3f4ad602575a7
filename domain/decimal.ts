/**
 * Exact decimal arithmetic for prices and fills, on scaled integers (BigInt): no float ever
 * touches money. Prices have at most PRICE_DECIMALS places; an average price has exactly
 * AVERAGE_DECIMALS, rounded half up. The venue and the service use these same functions, so both
 * sides compute the same average from the same fills.
 */
export const PRICE_DECIMALS = 4;
export const AVERAGE_DECIMALS = 6;

const PRICE_SCALE = 10n ** BigInt(PRICE_DECIMALS);
const DECIMAL_TEXT = /^(\d{1,16})(?:\.(\d{1,4}))?$/;

/** A price as an integer number of 1/10^PRICE_DECIMALS units; throws on anything else. */
export function priceUnits(price: string): bigint {
  const match = DECIMAL_TEXT.exec(price);
  if (!match) throw new RangeError(`Not a price with at most ${PRICE_DECIMALS} decimals: ${JSON.stringify(price)}`);
  const fraction = (match[2] ?? '').padEnd(PRICE_DECIMALS, '0');
  return BigInt(match[1]!) * PRICE_SCALE + BigInt(fraction);
}

export function isPrice(text: string): boolean {
  return DECIMAL_TEXT.test(text);
}

/** Scaled units back to text with exactly `decimals` places. */
export function unitsText(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, '0');
  const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return negative ? `-${text}` : text;
}

/** A price in its canonical text (exactly PRICE_DECIMALS places). */
export function priceText(units: bigint): string {
  return unitsText(units, PRICE_DECIMALS);
}

/** Σ qty × px of fills, in price units (exact). */
export function notionalUnits(quantity: number, price: string): bigint {
  return BigInt(quantity) * priceUnits(price);
}

/** notional / quantity rounded half up to AVERAGE_DECIMALS places; null when nothing is filled. */
export function averagePrice(notional: bigint, quantity: number): string | null {
  if (quantity <= 0) return null;
  const scale = 10n ** BigInt(AVERAGE_DECIMALS - PRICE_DECIMALS);
  const numerator = notional * scale * 2n;
  const denominator = BigInt(quantity) * 2n;
  // Half up for a positive value: add half the divisor before the integer division.
  const rounded = (numerator + BigInt(quantity)) / denominator;
  return unitsText(rounded, AVERAGE_DECIMALS);
}

/** The same price written with or without trailing zeros: "187.25" and "187.2500" are equal. */
export function samePrice(a: string, b: string): boolean {
  return priceUnits(a) === priceUnits(b);
}

/**
 * A non-negative decimal of any length with at most PRICE_DECIMALS places (a numeric column
 * such as filled_notional, as PostgreSQL sends it) in price units; throws on anything else.
 */
export function decimalUnits(text: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(text);
  if (!match) throw new RangeError(`Not a decimal with at most ${PRICE_DECIMALS} decimals: ${JSON.stringify(text)}`);
  const units = BigInt(match[2]!) * PRICE_SCALE + BigInt((match[3] ?? '').padEnd(PRICE_DECIMALS, '0'));
  return match[1] ? -units : units;
}
