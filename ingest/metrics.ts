import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS } from '../domain/fills.js';
import { withProcessMetrics } from '../metrics/process-metrics.js';

export interface IngestMetrics {
  registry: Registry;
  reports: Counter;
  duplicates: Counter;
  rejects: Counter<'reason'>;
  batchSize: Histogram;
  commitSeconds: Histogram;
  socketToCommitSeconds: Histogram;
  gaps: Counter;
  resendRequests: Counter<'cause'>;
  leader: Gauge;
  leaderChanges: Counter;
  reconnects: Counter;
  relayed: Counter<'outcome'>;
}

/** The ingestion process's series (in a registry of their own, the process's merged in: metrics/process-metrics.ts). */
export function createIngestMetrics(): IngestMetrics {
  const own = new Registry();
  const registers = [own];
  const metrics: Omit<IngestMetrics, 'registry'> = {
    reports: new Counter({ name: 'ingest_reports_total', help: 'Execution reports committed (applied or kept as rejects).', registers }),
    duplicates: new Counter({
      name: 'ingest_duplicates_total',
      help: 'Reports dropped as already seen: below the expected seq, or an exec id already stored.',
      registers,
    }),
    rejects: new Counter({
      name: 'ingest_rejects_total',
      help: 'Bad reports kept in execution_rejects, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    batchSize: new Histogram({
      name: 'ingest_batch_reports',
      help: 'Reports per committed batch.',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'ingest_batch_commit_seconds',
      help: "A batch's transaction, from BEGIN to COMMIT.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    socketToCommitSeconds: new Histogram({
      name: 'ingest_socket_to_commit_seconds',
      help: "From a report's line read off the socket to its batch's commit.",
      // Fine around the 100 ms p99 target, so that a percentile read from the buckets (the
      // benchmark's) is known to within a few milliseconds there, not to within 50.
      buckets: [
        0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.125, 0.15, 0.2, 0.25, 0.5,
        1, 2.5, 5, 10,
      ],
      registers,
    }),
    gaps: new Counter({
      name: 'ingest_gaps_total',
      help: 'Gaps seen in the sequence (a report or heartbeat ahead of the expected seq).',
      registers,
    }),
    resendRequests: new Counter({
      name: 'ingest_resend_requests_total',
      help: 'resend_request messages sent, by cause (gap, cum_mismatch).',
      labelNames: ['cause'] as const,
      registers,
    }),
    leader: new Gauge({ name: 'ingest_session_leader', help: '1 while this process holds the venue session.', registers }),
    leaderChanges: new Counter({ name: 'ingest_leadership_acquired_total', help: 'Times this process took the venue session.', registers }),
    reconnects: new Counter({ name: 'ingest_venue_connects_total', help: 'Connections opened to the venue.', registers }),
    relayed: new Counter({
      name: 'ingest_terminal_relays_total',
      help: 'Terminal events relayed to order workflows, by outcome (delivered, no_workflow, failed).',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
  for (const reason of Object.values(REJECT_REASONS)) metrics.rejects.inc({ reason }, 0);
  return { registry: withProcessMetrics(own), ...metrics };
}
