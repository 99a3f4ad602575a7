import { priceText, priceUnits } from '../../domain/decimal.js';
import { isImmediate } from '../../domain/order.js';
import type { Book } from './book.js';
import { isUntriggeredStop, isWorking, leavesOf, type WorkingOrder } from './orders.js';
import { referencePrices, seededRandom } from './prices.js';

export interface SimulationOptions {
  mode: 'random' | 'scripted';
  seed: number;
  tickMs: number;
  referencePrices: Record<string, string>;
  now?: () => number;
}

/** What setting an instrument's price did (the control port's answer). */
export interface PriceSet {
  instrument: string;
  price: string;
  /** The quantity of an `ioc` or `fok` order that can fill at once, null for all of it. */
  available_quantity: number | null;
  /** The held stop orders the new price triggered. */
  triggered: string[];
}

export interface Simulation {
  /** A newly accepted (or, after a restart, still working) order: holds it (a stop), fills it or lets it rest. */
  work(order: WorkingOrder): void;
  /** The instrument's current price (the one fills and stops follow), as text. */
  priceOf(instrument: string): string;
  /**
   * Sets an instrument's price (the control port, for tests and demos) and, when given, how much
   * of an immediate order can fill at once (null: all of it); stops it reaches trigger now.
   */
  setPrice(instrument: string, price: string, availableQuantity?: number | null): PriceSet;
  stop(): void;
}

const CENT = 100n; // price units of one cent

/**
 * Works the venue's orders (docs/executions.md, "Venue behaviour"). Random mode: market and
 * marketable limit orders fill at once in 1–3 fills near the instrument's price; other limit
 * orders rest while each instrument's price walks every tick, and fill partly or fully when it
 * crosses their limit. Scripted mode (tests): market and marketable limit orders fill in exactly
 * two fills at the instrument's price, the others rest until the control port acts. In both modes
 * a day order still open at its expiry time is expired.
 *
 * The instrument's price is its reference price until the walk (random mode) or the control port
 * moves it. A stop order is held until that price reaches its stop price (a buy: at or above; a
 * sell: at or below; at acceptance already, or at a later tick or control-port price), then it
 * is triggered (a `triggered` report) and worked from then on as a market (`stop`) or limit
 * (`stop_limit`) order newly accepted.
 *
 * An `ioc` or `fok` order is decided when it is worked (a stop: when it triggers): what can fill
 * at once is nothing unless the order is marketable at the instrument's price, and then all of it
 * or, when the control port set one, at most the instrument's available quantity (the depth at
 * that price, the same for each order: fills do not use it up). That fills in one fill at the
 * price (no worse than the limit); `ioc` then has the rest cancelled, `fok` is cancelled with
 * nothing filled unless all of it can fill.
 */
export function createSimulation(book: Book, options: SimulationOptions): Simulation {
  const random = seededRandom(options.seed);
  const reference = referencePrices(options.referencePrices);
  const now = options.now ?? Date.now;
  /** A price the control port set: the walk starts from it and is pulled back towards it. */
  const anchors = new Map<string, bigint>();
  const walked = new Map<string, bigint>();
  const available = new Map<string, number>();
  const resting = new Set<string>();
  const expiring = new Set<string>();
  /** Stop orders not triggered yet. */
  const held = new Set<string>();
  const anchorOf = (instrument: string) => anchors.get(instrument) ?? reference(instrument);
  const marketPrice = (instrument: string) => walked.get(instrument) ?? anchorOf(instrument);

  const limitUnits = (order: WorkingOrder) => {
    // A stop order is worked as a market order: its limit, if any, is a stop_limit's.
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
  const stopReached = (order: WorkingOrder, px: bigint) => {
    const stop = priceUnits(order.record.order.stop_price ?? '0');
    return order.record.order.side === 'buy' ? px >= stop : px <= stop;
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

  /** An `ioc` or `fok` order, decided now (see above): filled what can fill, the rest cancelled. */
  const decideAtOnce = (order: WorkingOrder) => {
    const { id, instrument, time_in_force: timeInForce } = order.record.order;
    const px = marketPrice(instrument);
    const leaves = leavesOf(order);
    const fillable = marketable(order, px) ? Math.min(leaves, available.get(instrument) ?? leaves) : 0;
    if (timeInForce === 'fok' && fillable < leaves) {
      book.end(id, 'cancelled', `fill or kill: ${fillable} of ${leaves} could fill at once`);
      return;
    }
    if (fillable > 0) book.fill(id, fillable, priceText(bounded(order, px)));
    if (isWorking(order)) book.end(id, 'cancelled', `immediate or cancel: ${leavesOf(order)} could not fill at once`);
  };

  /** A market or limit order (a stop once triggered): decided at once, filled at once, or resting. */
  const start = (order: WorkingOrder) => {
    if (isImmediate(order.record.order.time_in_force)) return decideAtOnce(order);
    if (order.status === 'new' && order.cumQty === 0 && marketable(order, marketPrice(order.record.order.instrument))) {
      fillAtOnce(order);
    }
    if (isWorking(order)) resting.add(order.id);
  };

  /** Triggers a held stop whose price was reached, and works it; whether it did. */
  const triggerIfReached = (order: WorkingOrder): boolean => {
    const px = marketPrice(order.record.order.instrument);
    if (!stopReached(order, px)) return false;
    held.delete(order.id);
    book.trigger(order.id, priceText(px));
    start(order);
    return true;
  };

  /** The held stops of `instruments` that their price now reaches, triggered and worked; their ids. */
  const triggerStops = (instruments: ReadonlySet<string>): string[] => {
    const triggered: string[] = [];
    for (const id of held) {
      const order = book.get(id);
      if (!order || !isWorking(order)) held.delete(id);
      else if (instruments.has(order.record.order.instrument) && triggerIfReached(order)) triggered.push(id);
    }
    return triggered;
  };

  const tick = () => {
    const at = now();
    for (const id of expiring) {
      const order = book.get(id);
      if (!order || !isWorking(order)) {
        expiring.delete(id);
        resting.delete(id);
        held.delete(id);
        continue;
      }
      const expiresAt = order.expiresAt;
      if (expiresAt !== null && Date.parse(expiresAt) <= at) {
        book.end(id, 'expired', 'day order expired at the close');
        expiring.delete(id);
        resting.delete(id);
        held.delete(id);
      }
    }
    if (options.mode !== 'random') return;
    const instruments = new Set<string>();
    for (const ids of [resting, held]) {
      for (const id of ids) {
        const order = book.get(id);
        if (!order || !isWorking(order)) ids.delete(id);
        else instruments.add(order.record.order.instrument);
      }
    }
    for (const instrument of instruments) {
      // A walk of up to ±0.2% a tick, pulled back towards the anchor so it stays near it.
      const anchor = anchorOf(instrument);
      const current = marketPrice(instrument);
      const step = (current * BigInt(Math.floor((random() - 0.5) * 40))) / 10_000n;
      const pull = (anchor - current) / 20n;
      const next = current + step + pull;
      walked.set(instrument, next > CENT ? next : CENT);
    }
    // Stops first: one the walk triggers is newly accepted now, not also a resting order of this tick.
    triggerStops(instruments);
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
      if (isUntriggeredStop(order)) {
        if (!triggerIfReached(order)) held.add(id);
        return;
      }
      start(order);
    },
    priceOf: (instrument) => priceText(marketPrice(instrument)),
    setPrice(instrument, price, availableQuantity) {
      const units = priceUnits(price);
      anchors.set(instrument, units);
      walked.set(instrument, units);
      if (availableQuantity === null) available.delete(instrument);
      else if (availableQuantity !== undefined) available.set(instrument, availableQuantity);
      const triggered = triggerStops(new Set([instrument]));
      return { instrument, price: priceText(units), available_quantity: available.get(instrument) ?? null, triggered };
    },
    stop: () => clearInterval(timer),
  };
}
