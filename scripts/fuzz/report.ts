// The figures of a Schemathesis run (`npm run fuzz`), read from its NDJSON report: how many
// operations and cases, the answers by status, how many 5xx, how many schema mismatches and other
// findings. Pure, so test/unit/fuzz.test.ts checks it on a report of its own.

/** Checks that compare an answer with the document: a failure of one is a schema mismatch. */
export const SCHEMA_CHECKS = [
  'response_schema_conformance',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
] as const;

export interface FuzzFigures {
  /** Operations of the document, and how many the run selected. */
  operations: { total: number; selected: number };
  /** Requests sent for generated test cases (Schemathesis' "N generated"). */
  cases: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** Answers 500–599. */
  serverErrors: number;
  /** Failures of SCHEMA_CHECKS. */
  schemaMismatches: number;
  /** Failed check results by check (SCHEMA_CHECKS included). */
  failures: Record<string, number>;
  /** Check results, of every check and case. */
  checksRun: number;
  /** What kept Schemathesis from testing something (an operation it could not generate values for, …). */
  errors: string[];
}

interface Interaction {
  response?: { status_code?: number } | null;
}

interface CheckResult {
  name: string;
  status: string;
}

interface Recorder {
  label?: string;
  interactions?: Record<string, Interaction>;
  checks?: Record<string, CheckResult[]>;
}

export function fuzzFigures(lines: Iterable<string>): FuzzFigures {
  const figures: FuzzFigures = {
    operations: { total: 0, selected: 0 },
    cases: 0,
    statuses: {},
    serverErrors: 0,
    schemaMismatches: 0,
    failures: {},
    checksRun: 0,
    errors: [],
  };
  const seen = new Set<string>();
  for (const line of lines) {
    if (line.trim() === '') continue;
    const event = JSON.parse(line) as Record<string, Record<string, unknown>>;
    const [kind, payload] = Object.entries(event)[0] ?? [];
    if (!kind || !payload) continue;
    if (kind === 'LoadingFinished') {
      const operations = (payload.statistic as { operations?: { total?: number; selected?: number } } | undefined)?.operations;
      figures.operations = { total: operations?.total ?? 0, selected: operations?.selected ?? 0 };
    } else if (kind === 'NonFatalError') {
      const value = payload.value as { type?: string; message?: string } | undefined;
      figures.errors.push(`${String(payload.label ?? '')}: ${value?.type ?? 'error'}: ${value?.message ?? ''}`);
    } else if (kind === 'FatalError') {
      figures.errors.push(`fatal: ${JSON.stringify(payload).slice(0, 500)}`);
    } else if (kind === 'ScenarioFinished') {
      const recorder = (payload.recorder ?? {}) as Recorder;
      for (const [caseId, interaction] of Object.entries(recorder.interactions ?? {})) {
        if (seen.has(caseId)) continue; // a case reported again
        seen.add(caseId);
        figures.cases += 1;
        const status = interaction.response?.status_code;
        const key = status === undefined ? 'no answer' : String(status);
        figures.statuses[key] = (figures.statuses[key] ?? 0) + 1;
        if (status !== undefined && status >= 500 && status <= 599) figures.serverErrors += 1;
      }
      for (const results of Object.values(recorder.checks ?? {})) {
        for (const result of results) {
          figures.checksRun += 1;
          if (result.status !== 'failure') continue;
          figures.failures[result.name] = (figures.failures[result.name] ?? 0) + 1;
          if ((SCHEMA_CHECKS as readonly string[]).includes(result.name)) figures.schemaMismatches += 1;
        }
      }
    }
  }
  return figures;
}

/** The figures in a few lines, for the end of the run. */
export function describeFigures(figures: FuzzFigures, accepted: Record<string, number> = {}): string {
  const statuses = Object.entries(figures.statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  const failures = Object.entries(figures.failures)
    .filter(([check]) => !(SCHEMA_CHECKS as readonly string[]).includes(check))
    .map(([check, count]) => `${check}: ${count}`);
  const acceptedLines = Object.entries(accepted).map(([reason, count]) => `${reason}: ${count}`);
  return [
    `operations: ${figures.operations.selected} of ${figures.operations.total}`,
    `cases: ${figures.cases} (${figures.checksRun} check results)`,
    `answers: ${statuses || 'none'}`,
    `5xx answers: ${figures.serverErrors}`,
    `schema mismatches (${SCHEMA_CHECKS.join(', ')}): ${figures.schemaMismatches}`,
    `other findings: ${failures.length === 0 ? 0 : failures.join(', ')}`,
    `errors: ${figures.errors.length === 0 ? 0 : figures.errors.join('; ')}`,
    `accepted refusals (scripts/fuzz/hooks.py): ${acceptedLines.length === 0 ? 0 : acceptedLines.join(', ')}`,
  ].join('\n');
}
