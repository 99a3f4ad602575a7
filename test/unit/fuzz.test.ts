import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeFigures, fuzzFigures } from '../../scripts/fuzz/report.js';
import { SCHEMATHESIS_VERSION, TOOLS } from '../../scripts/tools.mjs';

// `npm run fuzz` (scripts/fuzz/main.ts): wired, pinned, and its figures read right from a
// Schemathesis NDJSON report. The run itself needs a running API (docs: `npm run fuzz`).

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('npm run fuzz', () => {
  it('is a command of scripts/run.mjs, with Schemathesis pinned and installed into .tools', () => {
    expect(JSON.parse(read('package.json')).scripts.fuzz).toBe('node scripts/run.mjs fuzz');
    expect(read('scripts/run.mjs')).toMatch(
      /\n {2}fuzz\(\) \{\n {4}ensureSchemathesis\(\);\n {4}exec\(process\.execPath, \['--import', 'tsx', 'scripts\/fuzz\/main\.ts'/,
    );
    expect(SCHEMATHESIS_VERSION).toMatch(/^4\.\d+\.\d+$/);
    expect(TOOLS.schemathesis.startsWith('.tools/')).toBe(true);
    expect(read('.gitignore')).toMatch(/^\.tools\/$/m);
  });

  it('runs every check, with the key from the environment, never on the command line', () => {
    const main = read('scripts/fuzz/main.ts');
    expect(main).toContain("'--checks',\n    'all',");
    expect(main).toContain("'--max-examples'");
    expect(main).toContain("'--max-time'");
    const config = read('scripts/fuzz/schemathesis.toml');
    expect(config).toMatch(/^headers = \{ Authorization = "Bearer \$\{FUZZ_API_KEY\}" \}$/m);
    expect(config).toMatch(/^hooks = "\$\{FUZZ_HOOKS\}"$/m);
  });

  it('reads a report: cases, answers, 5xx, schema mismatches, other findings, errors', () => {
    const ok = { name: 'not_a_server_error', status: 'success' };
    const lines = [
      { Initialize: { schemathesis_version: SCHEMATHESIS_VERSION } },
      { LoadingFinished: { statistic: { operations: { total: 13, selected: 13 } } } },
      {
        ScenarioFinished: {
          recorder: {
            label: 'POST /orders',
            interactions: { a: { response: { status_code: 201 } }, b: { response: { status_code: 422 } } },
            checks: { a: [ok, { name: 'response_schema_conformance', status: 'success' }], b: [ok] },
          },
        },
      },
      {
        ScenarioFinished: {
          recorder: {
            label: 'GET /orders',
            // `a` again (a case reported twice counts once), and one 500 with findings.
            interactions: { a: { response: { status_code: 201 } }, c: { response: { status_code: 500 } } },
            checks: {
              c: [
                { name: 'not_a_server_error', status: 'failure' },
                { name: 'status_code_conformance', status: 'failure' },
                { name: 'ignored_auth', status: 'failure' },
              ],
            },
          },
        },
      },
      { NonFatalError: { label: 'GET /events', value: { type: 'UnsupportedRegexPattern', message: 'no values' } } },
    ].map((event) => JSON.stringify(event));
    const figures = fuzzFigures([...lines, '']);
    expect(figures).toEqual({
      operations: { total: 13, selected: 13 },
      cases: 3,
      statuses: { '201': 1, '422': 1, '500': 1 },
      serverErrors: 1,
      schemaMismatches: 1,
      failures: { not_a_server_error: 1, status_code_conformance: 1, ignored_auth: 1 },
      checksRun: 6,
      errors: ['GET /events: UnsupportedRegexPattern: no values'],
    });
    const text = describeFigures(figures, { 'a drawn cursor is not one the server signed': 2 });
    expect(text).toContain('cases: 3');
    expect(text).toContain('5xx answers: 1');
    expect(text).toMatch(/schema mismatches \(.*\): 1/);
    expect(text).toContain('other findings: not_a_server_error: 1, ignored_auth: 1');
    expect(text).toContain('accepted refusals (scripts/fuzz/hooks.py): a drawn cursor is not one the server signed: 2');
  });
});
