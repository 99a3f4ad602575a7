import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Logger } from '../config/logger.js';
import { REJECT_REASONS } from '../domain/fills.js';
import { onLines } from '../exchange/lines.js';
import { encodeLine, executionReport, heartbeat, logonAck, MAX_LINE_BYTES } from '../exchange/protocol.js';
import { parseAddress } from '../exchange/venue-client.js';
import { FencedError, type IngestItem, writeBatch } from './batch-writer.js';
import type { IngestConfig } from './ingest-config.js';
import type { Lease } from './leadership.js';
import type { IngestMetrics } from './metrics.js';
import { type Gap, Sequencer } from './sequencer.js';

export interface SessionDeps {
  config: IngestConfig;
  pool: pg.Pool;
  metrics: IngestMetrics;
  logger: Logger;
  /** Called after each commit that made orders terminal (the relay looks at once). */
  onTerminal: () => void;
}

/** How long a cum mismatch's repair lasts: resent reports of that order are looked at again. */
const REPAIR_MS = 30_000;
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
  const repairs = new Map<string, { from: number; to: number; until: number }>();
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

function connectOnce(
  deps: SessionDeps,
  lease: Lease,
  stop: AbortSignal,
  start: number,
  repairs: Map<string, { from: number; to: number; until: number }>,
): Promise<ConnectionEnd> {
  const { config, pool, metrics, logger } = deps;
  const sessionName = config.VENUE_SESSION;
  const { host, port } = parseAddress(config.VENUE_ADDRESS);
  const sequencer = new Sequencer<IngestItem>(start, config.INGEST_BUFFER_MAX, config.INGEST_RESEND_TIMEOUT_MS);
  const queue: IngestItem[] = [];
  let committed = start;
  let received = 0;
  let fenced = false;
  let closed = false;
  let paused = false;
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;

  metrics.reconnects.inc();
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 5000);

  const close = (why: string, error?: unknown) => {
    if (closed) return;
    closed = true;
    if (error) logger.warn({ err: error, session: sessionName }, `venue session closed: ${why}`);
    else logger.info({ session: sessionName, committed }, `venue session closed: ${why}`);
    socket.destroy();
  };
  const onStop = () => close('stopping');
  const onLost = () => close('the session lock was lost');
  stop.addEventListener('abort', onStop, { once: true });
  lease.lost.addEventListener('abort', onLost, { once: true });

  const send = (message: Parameters<typeof encodeLine>[0]) => {
    if (!closed) socket.write(encodeLine(message));
  };
  const askResend = (gap: Gap | null, cause: 'gap' | 'cum_mismatch') => {
    if (!gap) return;
    if (cause === 'gap') metrics.gaps.inc();
    metrics.resendRequests.inc({ cause });
    logger.debug({ session: sessionName, ...gap, cause }, 'resend requested');
    send({ type: 'resend_request', from_seq: gap.from, to_seq: gap.to });
  };

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (closed || inFlight || queue.length === 0) return;
    const batch = queue.splice(0, config.INGEST_BATCH_MAX);
    let nextSeq = committed;
    for (const item of batch) if (item.seq !== null && !item.repair) nextSeq = Math.max(nextSeq, item.seq + 1);
    const began = performance.now();
    inFlight = writeBatch(pool, { name: sessionName, epoch: lease.epoch }, batch, nextSeq)
      .then((result) => {
        const now = performance.now();
        committed = nextSeq;
        metrics.commitSeconds.observe((now - began) / 1000);
        metrics.batchSize.observe(batch.length);
        metrics.reports.inc(batch.length - result.duplicates);
        if (result.duplicates > 0) metrics.duplicates.inc(result.duplicates);
        for (const item of batch) metrics.socketToCommitSeconds.observe((now - item.readAt) / 1000);
        for (const reject of result.rejects) {
          metrics.rejects.inc({ reason: reject.reason });
          logger.warn({ session: sessionName, ...reject }, 'execution report rejected');
        }
        const wallNow = Date.now();
        for (const repair of result.repairs) {
          const current = repairs.get(repair.orderId);
          if (current && current.until > wallNow) continue;
          repairs.set(repair.orderId, { from: repair.from, to: repair.to, until: wallNow + REPAIR_MS });
          askResend({ from: repair.from, to: repair.to }, 'cum_mismatch');
        }
        if (result.terminals > 0) deps.onTerminal();
      })
      .catch((error: unknown) => {
        if (error instanceof FencedError) {
          fenced = true;
          close('fenced: another process holds the session', error);
        } else {
          close('a batch failed; reconnecting from the committed seq', error);
        }
      })
      .finally(() => {
        inFlight = null;
        if (closed) return;
        if (paused && queue.length < 2 * config.INGEST_BATCH_MAX) {
          paused = false;
          socket.resume();
        }
        if (queue.length > 0) schedule();
      });
  };
  const schedule = () => {
    if (queue.length >= config.INGEST_BATCH_MAX) return flush();
    if (!timer && !inFlight) timer = setTimeout(flush, config.INGEST_BATCH_MS);
    if (!paused && queue.length > 4 * config.INGEST_BATCH_MAX) {
      // The writer is behind: stop reading (TCP pushes back on the venue) until it catches up.
      paused = true;
      socket.pause();
    }
  };
  const enqueue = (items: IngestItem[]) => {
    for (const item of items) queue.push(item);
    schedule();
  };

  const badLine = (text: string, detail: string, seq: number | null = null): IngestItem => ({
    seq,
    report: null,
    reject: { reason: REJECT_REASONS.malformed, detail },
    raw: text,
    readAt: performance.now(),
    repair: false,
  });

  const onReport = (item: IngestItem, seq: number) => {
    received += 1;
    const offer = sequencer.offer(seq, item);
    switch (offer.kind) {
      case 'deliver':
        return enqueue(offer.items);
      case 'held':
        return askResend(offer.gap, 'gap');
      case 'overflow':
        return close(`more than ${config.INGEST_BUFFER_MAX} reports held for a gap`);
      case 'duplicate': {
        const repair = item.report ? repairs.get(item.report.order_id) : undefined;
        if (repair && repair.until > Date.now() && seq >= repair.from && seq <= repair.to) {
          return enqueue([{ ...item, repair: true }]);
        }
        metrics.duplicates.inc();
      }
    }
  };

  onLines(socket, (event) => {
    if (closed) return;
    if (event.kind === 'too_long') return enqueue([badLine('', `line longer than ${MAX_LINE_BYTES} bytes`)]);
    const text = event.text;
    const readAt = performance.now();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return enqueue([badLine(text, 'not JSON')]);
    }
    const type = (raw as { type?: unknown } | null)?.type;
    if (type === 'execution_report') {
      const parsed = executionReport.safeParse(raw);
      if (parsed.success) {
        return onReport({ seq: parsed.data.seq, report: parsed.data, reject: null, raw: text, readAt, repair: false }, parsed.data.seq);
      }
      const issue = parsed.error.issues[0];
      const detail = issue ? `${issue.path.join('.') || 'message'}: ${issue.message}` : 'invalid';
      const seq = (raw as { seq?: unknown }).seq;
      // A bad report with a readable seq takes its place in the sequence (kept as a reject), so
      // the stream goes on past it; without one it is kept aside and the gap logic fetches the seq.
      if (typeof seq === 'number' && Number.isInteger(seq) && seq >= 1) return onReport(badLine(text, detail, seq), seq);
      return enqueue([badLine(text, detail)]);
    }
    if (type === 'heartbeat') {
      const parsed = heartbeat.safeParse(raw);
      if (parsed.success) return askResend(sequencer.heartbeat(parsed.data.next_seq), 'gap');
    } else if (type === 'logon_ack') {
      const parsed = logonAck.safeParse(raw);
      if (parsed.success) {
        logger.info(
          { session: sessionName, from: start, venueNextSeq: parsed.data.next_seq, epoch: lease.epoch },
          'venue session logged on',
        );
        return;
      }
    }
    return enqueue([badLine(text, `unexpected message on an execution session: ${String(type)}`)]);
  });

  const ticker = setInterval(() => {
    askResend(sequencer.tick(), 'gap');
    const now = Date.now();
    for (const [orderId, repair] of repairs) if (repair.until <= now) repairs.delete(orderId);
  }, TICK_MS);

  socket.on('connect', () => {
    logger.debug({ session: sessionName, host, port }, 'connected to the venue');
    send({ type: 'logon', session: sessionName, next_seq: start });
  });
  socket.on('error', (error) => close('socket error', error));

  return new Promise<ConnectionEnd>((resolve) => {
    socket.once('close', () => {
      close('the venue closed the connection');
      clearInterval(ticker);
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
      lease.lost.removeEventListener('abort', onLost);
      // What was read and not committed is dropped: the next logon asks for it again.
      queue.length = 0;
      void (inFlight ?? Promise.resolve()).then(() => resolve({ committed, fenced, received }));
    });
  });
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
