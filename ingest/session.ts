import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Logger } from '../config/logger.js';
import type { IngestItem } from './batch-plan.js';
import { Batcher } from './batcher.js';
import { CommitLoop } from './commit-loop.js';
import type { IngestConfig } from './ingest-config.js';
import type { Lease } from './leadership.js';
import type { IngestMetrics } from './metrics.js';
import { RepairWindows } from './repair-windows.js';
import { type Gap, Sequencer } from './sequencer.js';
import { parseSessionLine, type SessionLine } from './session-lines.js';
import { connectVenue } from './venue-connection.js';

export interface SessionDeps {
  config: IngestConfig;
  pool: pg.Pool;
  metrics: IngestMetrics;
  logger: Logger;
  /** Called after each commit that made orders terminal (the relay looks at once). */
  onTerminal: () => void;
}

const TICK_MS = 250;

type ConnectionEnd = { committed: number; fenced: boolean; received: number };

/**
 * Holds the venue session while the lease lasts (docs/executions.md, "Ingestion"): connects,
 * logs on with the committed next seq, reads lines, keeps reports in seq order, writes them in
 * batches (one in flight at a time), and after a lost connection connects again with backoff
 * from what was committed (what was read and not committed is simply read again). Returns when
 * the lease is lost, a batch was fenced, or `stop` is aborted.
 */
export async function holdSession(deps: SessionDeps, lease: Lease, stop: AbortSignal): Promise<'lost' | 'fenced' | 'stopped'> {
  const { config } = deps;
  let committed = lease.nextSeq;
  let backoff = config.INGEST_RECONNECT_MIN_MS;
  const repairs = new RepairWindows();
  while (!stop.aborted && !lease.lost.aborted) {
    const end = await connectOnce(deps, lease, stop, committed, repairs);
    committed = end.committed;
    if (end.fenced) return 'fenced';
    if (stop.aborted) break;
    if (lease.lost.aborted) return 'lost';
    backoff = end.received > 0 ? config.INGEST_RECONNECT_MIN_MS : Math.min(backoff * 2, config.INGEST_RECONNECT_MAX_MS);
    await abortableSleep(backoff, [stop, lease.lost]);
  }
  return stop.aborted ? 'stopped' : 'lost';
}

/**
 * One connection to the venue: logs on from `start` (ingest/venue-connection.ts), parses each
 * line (ingest/session-lines.ts), keeps reports in seq order (ingest/sequencer.ts) and asks for
 * gaps, batches them (ingest/batcher.ts) and commits each batch (ingest/commit-loop.ts).
 * Resolves when the connection has closed and its batch in flight is done.
 */
async function connectOnce(
  deps: SessionDeps,
  lease: Lease,
  stop: AbortSignal,
  start: number,
  repairs: RepairWindows,
): Promise<ConnectionEnd> {
  const { config, pool, metrics, logger } = deps;
  const sessionName = config.VENUE_SESSION;
  const sequencer = new Sequencer<IngestItem>(start, config.INGEST_BUFFER_MAX, config.INGEST_RESEND_TIMEOUT_MS);
  let received = 0;

  metrics.reconnects.inc();
  const connection = connectVenue({
    address: config.VENUE_ADDRESS,
    session: sessionName,
    nextSeq: start,
    logger,
    closeOn: [
      { signal: stop, why: 'stopping' },
      { signal: lease.lost, why: 'the session lock was lost' },
    ],
    closeContext: () => ({ committed: commits.committed }),
  });
  const askResend = (gap: Gap | null, cause: 'gap' | 'cum_mismatch') => {
    if (!gap) return;
    if (cause === 'gap') metrics.gaps.inc();
    metrics.resendRequests.inc({ cause });
    logger.debug({ session: sessionName, ...gap, cause }, 'resend requested');
    connection.send({ type: 'resend_request', from_seq: gap.from, to_seq: gap.to });
  };
  const commits = new CommitLoop(
    {
      pool,
      session: { name: sessionName, epoch: lease.epoch },
      metrics,
      logger,
      repair: (repair) => {
        if (repairs.open(repair)) askResend({ from: repair.from, to: repair.to }, 'cum_mismatch');
      },
      onTerminal: deps.onTerminal,
      close: connection.close,
    },
    start,
  );
  const batcher = new Batcher<IngestItem>({
    max: config.INGEST_BATCH_MAX,
    delayMs: config.INGEST_BATCH_MS,
    write: (batch) => commits.commit(batch),
    isClosed: () => connection.closed,
    pause: connection.pause,
    resume: connection.resume,
  });

  const onSequenced = (item: IngestItem, seq: number) => {
    received += 1;
    const offer = sequencer.offer(seq, item);
    switch (offer.kind) {
      case 'deliver':
        return batcher.enqueue(offer.items);
      case 'held':
        return askResend(offer.gap, 'gap');
      case 'overflow':
        return connection.close(`more than ${config.INGEST_BUFFER_MAX} reports held for a gap`);
      case 'duplicate':
        // Below the committed seq: dropped, unless it is a repair's resend.
        if (item.report && repairs.covers(item.report.order_id, seq)) return batcher.enqueue([{ ...item, repair: true }]);
        metrics.duplicates.inc();
    }
  };
  const onLine = (line: SessionLine) => {
    switch (line.kind) {
      case 'sequenced':
        return onSequenced(line.item, line.seq);
      case 'bad':
        return batcher.enqueue([line.item]);
      case 'heartbeat':
        return askResend(sequencer.heartbeat(line.nextSeq), 'gap');
      case 'logon_ack':
        logger.info({ session: sessionName, from: start, venueNextSeq: line.nextSeq, epoch: lease.epoch }, 'venue session logged on');
    }
  };
  connection.readLines((event) => onLine(parseSessionLine(event, performance.now())));

  const ticker = setInterval(() => {
    askResend(sequencer.tick(), 'gap');
    repairs.prune();
  }, TICK_MS);

  await connection.ended;
  clearInterval(ticker);
  // What was read and not committed is dropped: the next logon asks for it again.
  await batcher.stop();
  return { committed: commits.committed, fenced: commits.fenced, received };
}

function abortableSleep(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', done);
      resolve();
    }
    for (const signal of signals) {
      if (signal.aborted) return done();
      signal.addEventListener('abort', done, { once: true });
    }
  });
}
