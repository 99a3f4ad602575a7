import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createPostgresLedger } from '../exchange-ledger.js';
import { venueOrder } from '../protocol.js';
import type { VenueConfig } from '../venue-config.js';
import { Book } from './book.js';
import { createVenueListener } from './connections.js';
import { createControlServer } from './control.js';
import { Faults } from './faults.js';
import { createOrderEntry, dayExpiry } from './order-entry.js';
import { seededRandom } from './prices.js';
import { openReportLog, type ReportLog } from './report-log.js';
import { createSimulation } from './simulation.js';

export interface Venue {
  /** The order-entry and execution port, and the control port, as bound (0 in the config picks one). */
  port: number;
  controlPort: number;
  close(): Promise<void>;
}

/**
 * The simulated venue: its report log read back (orders and numbering as they were), the
 * ledger's accepted orders the log lacks given their `new` report, the simulation working every
 * open order, then the TCP port and the control port.
 */
export async function startVenue(config: VenueConfig, logger: Logger): Promise<Venue> {
  let log: ReportLog | undefined;
  const expiry = dayExpiry(config.VENUE_DAY_TTL_MS, config.VENUE_CLOSE_UTC);
  const book = new Book(
    {
      takeSeq: () => log!.takeSeq(),
      append: (seq, line, orderLine) => log!.append(seq, line, orderLine),
      lineAt: (seq) => log!.lineAt(seq),
    },
    undefined,
    expiry,
  );
  log = await openReportLog(config.VENUE_DATA_DIR, { flushMs: config.VENUE_LOG_FLUSH_MS, replay: (entry) => book.replay(entry) });
  logger.info({ orders: book.size, nextSeq: log.nextSeq }, 'report log read');

  const ledger = createPostgresLedger(config.DATABASE_URL, { timeoutMs: 10_000 });
  let recovered = 0;
  for (const row of await ledger.accepted()) {
    if (book.get(row.orderId)) continue;
    const parsed = venueOrder.safeParse(row.ticket);
    if (!parsed.success) continue; // a ticket of the in-process exchange of old: not this venue's order
    const order = parsed.data;
    book.accept({
      order,
      accepted_at: row.acceptedAt.toISOString(),
      expires_at: order.time_in_force === 'gtc' ? null : expiry(row.acceptedAt).toISOString(),
    });
    recovered += 1;
  }
  if (recovered > 0) logger.warn({ orders: recovered }, 'accepted orders missing from the report log: their new reports sent now');

  const simulation = createSimulation(book, {
    mode: config.VENUE_MODE,
    seed: config.VENUE_SEED,
    tickMs: config.VENUE_TICK_MS,
    referencePrices: config.VENUE_REFERENCE_PRICES,
  });
  for (const order of book.workingOrders()) simulation.work(order);

  const faults = new Faults();
  const random = seededRandom(config.VENUE_SEED + 1);
  const entry = createOrderEntry({ book, ledger, simulation, random, dayExpiry: expiry });
  const listener = createVenueListener({
    entry,
    log,
    faults,
    heartbeatMs: config.VENUE_HEARTBEAT_MS,
    random,
    defaults: { failureRate: config.EXCHANGE_FAILURE_RATE, latencyMs: config.EXCHANGE_LATENCY_MS },
    logger,
  });
  const control = createControlServer({ book, log, faults, listener, simulation });
  listener.server.listen(config.VENUE_PORT, config.VENUE_HOST);
  await once(listener.server, 'listening');
  control.listen(config.VENUE_CONTROL_PORT, config.VENUE_HOST);
  await once(control, 'listening');
  const openLog = log;
  return {
    port: (listener.server.address() as AddressInfo).port,
    controlPort: (control.address() as AddressInfo).port,
    async close() {
      simulation.stop();
      listener.server.close();
      control.close();
      for (const session of listener.sessions) session.close();
      for (const socket of listener.entryConnections) socket.destroy();
      control.closeAllConnections();
      await openLog.close();
      await ledger.close();
    },
  };
}
