import { priceText, priceUnits } from '../../domain/decimal.js';
import type { Book } from './book.js';
import { isWorking, leavesOf, type WorkingOrder } from './orders.js';
import { referencePrices, seededRandom } from './prices.js';

export interface SimulationOptions {
  mode: 'random' | 'scripted';
  seed: number;
  tickMs: number;
  referencePrices: Record<string, string>;
  now?: () => number;
}

export interface Simulation {
  /** A newly accepted (or, after a restart, still working) order: fills it or lets it rest. */
  work(order: WorkingOrder): void;
  /** The reference price of an instrument, as text. */
  priceOf(instrument: string): string;
  stop(): void;
}

const CENT = 100n; // price units of one cent

/**
 * Works the venue's orders (docs/executions.md, "Venue behaviour"). Random mode: market and
 * marketable limit orders fill at once in 1–3 fills near the reference price; other limit orders
 * rest while each instrument's price walks every tick, and fill partly or fully when it crosses
 * their limit. Scripted mode (tests): market and marketable limit orders fill in exactly two
 * fills at the reference price, the others rest until the control port acts. In both modes a
 * day order still open at its expiry time is expired.
 */
export function createSimulation(book: Book, options: SimulationOptions): Simulation {
  const random = seededRandom(options.seed);
  const reference = referencePrices(options.referencePrices);
  const now = options.now ?? Date.now;
  const walked = new Map<string, bigint>();
  const resting = new Set<string>();
  const expiring = new Set<string>();
  const marketPrice = (instrument: string) => walked.get(instrument) ?? reference(instrument);

  const limitUnits = (order: WorkingOrder) => {
    const limit = order.record.order.limit_price;
    return limit === null ? null : priceUnits(limit);
  };
  const marketable = (order: WorkingOrder, px: bigint) => {
    const limit = limitUnits(order);
    if (limit === null) return true;
    return order.record.order.side === 'buy' ? limit >= px : limit <= px;
  };
  // A fill price no worse than the order's limit.
  const bounded = (order: WorkingOrder, px: bigint) => {
    const limit = limitUnits(order);
    if (limit === null) return px;
    return order.record.order.side === 'buy' ? (px > limit ? limit : px) : px < limit ? limit : px;
  };

  const fillAtOnce = (order: WorkingOrder) => {
    const id = order.record.order.id;
    const ref = marketPrice(order.record.order.instrument);
    if (options.mode === 'scripted') {
      const first = Math.floor(leavesOf(order) / 2);
      if (first > 0) book.fill(id, first, priceText(bounded(order, ref)));
      book.fill(id, leavesOf(order), priceText(bounded(order, ref)));
      return;
    }
    let fills = 1 + Math.floor(random() * 3);
    while (isWorking(order) && fills > 0) {
      const qty = fills === 1 ? leavesOf(order) : Math.max(1, Math.floor(leavesOf(order) * (0.2 + random() * 0.5)));
      const offset = BigInt(Math.floor(random() * 11) - 5) * CENT;
      const px = bounded(order, ref + offset > 0n ? ref + offset : ref);
      book.fill(id, Math.min(qty, leavesOf(order)), priceText(px));
      fills -= 1;
    }
  };

  const tick = () => {
    const at = now();
    for (const id of expiring) {
      const order = book.get(id);
      if (!order || !isWorking(order)) {
        expiring.delete(id);
        resting.delete(id);
        continue;
      }
      const expiresAt = order.expiresAt;
      if (expiresAt !== null && Date.parse(expiresAt) <= at) {
        book.end(id, 'expired', 'day order expired at the close');
        expiring.delete(id);
        resting.delete(id);
      }
    }
    if (options.mode !== 'random') return;
    const instruments = new Set<string>();
    for (const id of resting) {
      const order = book.get(id);
      if (!order || !isWorking(order)) resting.delete(id);
      else instruments.add(order.record.order.instrument);
    }
    for (const instrument of instruments) {
      // A walk of up to ±0.2% a tick, pulled back towards the reference so it stays near it.
      const ref = reference(instrument);
      const current = marketPrice(instrument);
      const step = (current * BigInt(Math.floor((random() - 0.5) * 40))) / 10_000n;
      const pull = (ref - current) / 20n;
      const next = current + step + pull;
      walked.set(instrument, next > CENT ? next : CENT);
    }
    for (const id of resting) {
      const order = book.get(id);
      if (!order || !isWorking(order)) continue;
      const px = marketPrice(order.record.order.instrument);
      if (!marketable(order, px)) continue;
      const leaves = leavesOf(order);
      const qty = random() < 0.5 ? leaves : Math.max(1, Math.floor(leaves * random()));
      book.fill(id, qty, priceText(bounded(order, px)));
      if (!isWorking(order)) resting.delete(id);
    }
  };
  const timer = setInterval(tick, options.tickMs);

  return {
    work(order) {
      if (!isWorking(order)) return;
      const id = order.record.order.id;
      if (order.record.expires_at !== null) expiring.add(id);
      if (order.status === 'new' && order.cumQty === 0 && marketable(order, marketPrice(order.record.order.instrument))) {
        fillAtOnce(order);
      }
      if (isWorking(order)) resting.add(id);
    },
    priceOf: (instrument) => priceText(reference(instrument)),
    stop: () => clearInterval(timer),
  };
}
