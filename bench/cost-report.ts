// The CPU-per-order rows of the bench's table (bench/report.ts, issue #24): one row per variant
// with each process's milliseconds per order and their sum, the server's beside the floor (e)
// measured in the same run.
import { COST_PROCESSES, type CostProcess, type CostResult, type CostVariantName, type PerProcess } from './cost.js';
import type { FloorResult } from './floor.js';
import type { Outcome, Row } from './report.js';

const num = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const LABELS: Record<CostProcess, string> = {
  api: 'API',
  worker: 'worker',
  temporal: 'Temporal server',
  postgres: 'PostgreSQL',
  venue: 'venue',
  ingest: 'ingest',
};
const VARIANT_LABELS: Record<CostVariantName, string> = {
  healthy: 'healthy order (worker EXCHANGE_FAILURE_RATE=0)',
  firstAttemptFails: 'first exchange attempt fails (EXCHANGE_FAILURE_RATE=0, EXCHANGE_FIRST_ATTEMPT_FAILS=true: one retry each)',
};

function isResult(outcome: Outcome<CostResult>): outcome is CostResult {
  return outcome !== undefined && !('error' in outcome);
}

/** `N× the floor (e)` for the server's figure, when the floor ran in this run against a known server. */
function timesFloor(serverMs: number | null, floor: FloorResult | undefined): string {
  const floorMs = floor?.temporalCpuMsPerWorkflow;
  if (serverMs === null || floorMs === null || floorMs === undefined) return '';
  return ` (${num(serverMs / floorMs, 1)}× the floor (e), ${num(floorMs, 1)} ms)`;
}

function sum(values: PerProcess): number {
  return COST_PROCESSES.reduce((total, name) => total + (values[name] ?? 0), 0);
}

function perProcessFigure(values: PerProcess, floor: FloorResult | undefined, sign = ''): string {
  const parts = COST_PROCESSES.filter((name) => values[name] !== null).map((name) => {
    const value = values[name]!;
    const shown = `${sign && value >= 0 ? sign : ''}${num(value, 1)}`;
    return `${LABELS[name]} ${shown}${name === 'temporal' && !sign ? timesFloor(value, floor) : ''}`;
  });
  const total = sum(values);
  return `${parts.join(', ')}; sum ${sign && total >= 0 ? sign : ''}${num(total, 1)} ms`;
}

function idleFigure(result: CostResult): string {
  const idle = COST_PROCESSES.filter((name) => result.idleCores[name] !== null)
    .map((name) => `${LABELS[name]} ${result.idleCores[name]!.toFixed(3)}`)
    .join(', ');
  return `idle (taken off, the lower of a reading before and after): ${idle}; machine ${num(result.machineBusyPct)}% busy in the window`;
}

function variantRow(result: CostResult, floor: FloorResult | undefined): Row {
  const { post } = result;
  const refused = post.non2xx + post.errors;
  return {
    measure: VARIANT_LABELS[result.variant],
    figure:
      `CPU ms per order: ${perProcessFigure(result.msPerOrder, floor)}` +
      ` (${result.orders} orders at ${result.rate}/s, window ${num(result.windowS, 1)} s to the last workflow's end` +
      (refused > 0 ? `; ${refused} POSTs not answered 2xx` : '') +
      `; ${result.histories.firstAttemptFailed} of ${result.histories.sampled} sampled histories with a failed first attempt` +
      (result.complete ? ')' : '; stopped waiting: NOT all ended, a part of their cost missing)'),
    cpu: idleFigure(result),
  };
}

export function costRows(
  outcomes: Record<CostVariantName, Outcome<CostResult>>,
  floor: FloorResult | undefined,
  rows: Row[],
  section: (title: string) => void,
  failed: (measure: string, outcome: Outcome<unknown>) => void,
): void {
  section(
    "CPU per order per process: 1 API, 1 worker, the run's venue (scripted: fills at once) and ingest; each process's idle CPU measured first and taken off",
  );
  for (const variant of ['healthy', 'firstAttemptFails'] as const) {
    const outcome = outcomes[variant];
    if (isResult(outcome)) rows.push(variantRow(outcome, floor));
    else failed(VARIANT_LABELS[variant], outcome);
  }
  const [healthy, failing] = [outcomes.healthy, outcomes.firstAttemptFails];
  if (isResult(healthy) && isResult(failing)) {
    const difference = Object.fromEntries(
      COST_PROCESSES.map((name) => {
        const [a, b] = [failing.msPerOrder[name], healthy.msPerOrder[name]];
        return [name, a === null || b === null ? null : a - b];
      }),
    ) as PerProcess;
    rows.push({ measure: '  what the failed first attempt adds', figure: `CPU ms per order: ${perProcessFigure(difference, floor, '+')}` });
  }
}
