import { priceText, priceUnits } from '../../domain/decimal.js';

/** A seeded uniform [0, 1) generator (mulberry32): the same seed gives the same simulation. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Each instrument's reference price in price units: the configured one (VENUE_REFERENCE_PRICES),
 * otherwise one derived from the instrument's text, between 10 and 500 with whole cents, so the
 * same instrument always trades around the same price.
 */
export function referencePrices(configured: Record<string, string>): (instrument: string) => bigint {
  const known = new Map(Object.entries(configured).map(([instrument, price]) => [instrument, priceUnits(price)]));
  return (instrument) => {
    const price = known.get(instrument);
    if (price !== undefined) return price;
    let hash = 2_166_136_261;
    for (const char of instrument) hash = Math.imul(hash ^ char.charCodeAt(0), 16_777_619) >>> 0;
    const cents = 1_000 + (hash % 49_000); // 10.00 .. 499.99
    const derived = BigInt(cents) * 100n;
    known.set(instrument, derived);
    return derived;
  };
}

export { priceText };
