// The GET /events rows of the bench's table (bench/report.ts): the run's shape, exactness, lag
// and CPU next to issue #23's targets.
import type { LatencySummary } from './histogram.js';
import type { SseResult } from './sse-fanout.js';

interface Row {
  measure: string;
  figure: string;
  cpu?: string;
  target?: string;
  verdict?: string;
}

const num = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const pct = (share: number) => `${num(100 * share)}%`;
const lagOf = (lag: LatencySummary) =>
  `p50 ${num(lag.p50Ms, 1)} / p99 ${num(lag.p99Ms, 1)} / max ${num(lag.maxMs, 0)} ms (${lag.count} sampled arrivals)`;

export function sseRows(result: SseResult, rows: Row[], section: (title: string) => void): void {
  const { shape, cores, violations } = result;
  const short = shape.scale < 1;
  section(
    `GET /events as the service is used: ${shape.apis} API processes, the clients in ${shape.runners} processes of their own` +
      (short ? ` (--short: ${shape.scale} of the issue's shape, ring ${shape.ringSize} events; the targets are for the full shape)` : ''),
  );
  const verdict = (met: boolean) => (met ? 'met' : '**NOT met**') + (short ? ' (short shape)' : '');
  const writtenPerS = result.produced / result.flowS;
  const faults = violations.foreign + violations.outOfOrder + violations.missing + violations.repeated;
  rows.push({
    measure:
      `${shape.accounts} accounts (skewed: the largest has ${pct(result.topShare)} of the flow, the largest 1% ${pct(result.top1PctShare)}), ` +
      `${result.streams} streams (${num(result.streams / shape.accounts, 1)} per account, 1 in ${shape.scopedEvery} of one order), ` +
      `${num(100 * shape.reconnectsPerStreamS)}% of them reconnecting each second with a Last-Event-ID ${shape.resumeAgeS[0]}–${shape.resumeAgeS[1]} s old`,
    figure:
      `${num(writtenPerS)} events/s written of ${shape.rate} asked, for ${num(result.flowS, 1)} s (${result.produced} events; slowest insert ${num(result.slowestInsertMs)} ms); ` +
      `${result.reconnects} reconnects (Last-Event-ID age min ${num(result.resumeAgeS.min, 1)} / p50 ${num(result.resumeAgeS.p50, 1)} / max ${num(result.resumeAgeS.max, 1)} s), ` +
      `${result.serverEnds} ended by the server, ${result.errors} connection errors${result.firstError ? ` (first: ${result.firstError})` : ''}`,
    target: `${shape.rate} events/s written`,
    verdict: verdict(writtenPerS >= 0.95 * shape.rate),
  });
  rows.push({
    measure: 'every stream: exactly its scope’s events, in order, none missing or repeated across reconnects',
    figure:
      `delivered ${result.delivered} of ${result.expected} (each stream's distinct events of its scope; ${result.received} received with the repeats a rewind asks for); ` +
      `${result.complete} of ${result.streams} streams complete; violations ${faults} (other scope ${violations.foreign}, out of order ${violations.outOfOrder}, ` +
      `missing ${violations.missing}, repeated ${violations.repeated})${result.notes.length ? `, first: ${result.notes[0]}` : ''}; ` +
      `written rows in exec order: ${result.written.misordered} of ${result.written.rows} out of it`,
    target: 'all delivered, 0 violations',
    verdict: verdict(faults === 0 && result.complete === result.streams && result.written.misordered === 0),
  });
  rows.push({
    measure: 'commit (acknowledged to the writer) → client, first arrival at each stream',
    figure: lagOf(result.lag),
    target: 'p99 ≤ 250 ms',
    verdict: verdict(result.lag.p99Ms <= 250),
  });
  rows.push({
    measure: 'CPU over the flow',
    figure:
      `API processes ${cores.apis.map((api) => num(api, 2)).join(' and ')} cores; PostgreSQL ${num(cores.postgres, 2)}, of which the stream's reads ` +
      `(its api:events connections) ${num(cores.postgresStream, 2)} (${pct(cores.postgresStream / cores.postgres)}), the writer ${num(cores.postgresWriter, 2)}; ` +
      `clients ${num(cores.clients, 2)}, bench ${num(cores.bench, 2)}; machine ${num(result.machineBusyPct)}% busy; ` +
      `load average before ${result.loadBefore}, after ${result.loadAfter}`,
    cpu: `api ${cores.apis.map((api) => num(api, 2)).join(' + ')}, pg ${num(cores.postgres, 2)}, clients ${num(cores.clients, 2)}`,
    target: "each API process ≤ 0.5 core; PostgreSQL's share for the stream printed",
    verdict: verdict(cores.apis.every((api) => api <= 0.5)),
  });
}
