// `npm run fuzz -- [BASE_URL] [--max-examples N] [--max-time SECONDS] [--workers N] [--seed N]`:
// property-based fuzzing of a running API (by default http://127.0.0.1:3000, `npm start`'s) with
// Schemathesis (its version pinned in scripts/tools.mjs; scripts/run.mjs installs it into
// .tools/schemathesis): every operation of the API's own /openapi.json, every check, with an API
// key. First it checks that the key works, and that Schemathesis' regex engines read the
// document's patterns as the server does. It stops by itself (--max-time) and ends with the run's
// figures: cases, answers by status, 5xx answers, schema mismatches, other findings; its exit
// code is non-zero on any finding or any 5xx.
//
// The key: API_KEY, else the demo key `npm start` keeps (DATA_DIR/demo-api-key). Traffic goes to
// the loopback address only. Reports (JUnit, NDJSON) and Schemathesis' state: DATA_DIR/fuzz.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { controlCharacterDetails, NO_CONTROL_CHARACTERS_PATTERN } from '../../api/control-characters.js';
import { TOOLS } from '../tools.mjs';
import { describeFigures, fuzzFigures } from './report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = path.join(ROOT, 'scripts', 'fuzz');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
// Below this many requests a minute per account the run mostly meets 429s: it says so.
const ENOUGH_RATE_PER_MINUTE = 20_000;

function say(message: string): void {
  process.stderr.write(`[fuzz] ${message}\n`);
}

class UsageError extends Error {}

interface Options {
  baseUrl: string;
  maxExamples: number;
  maxTime: number;
  workers: number;
  seed: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'max-examples': { type: 'string', default: '100' },
      'max-time': { type: 'string', default: '300' },
      workers: { type: 'string', default: '2' },
      seed: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new UsageError(`one BASE_URL at most, got ${positionals.join(' ')}`);
  const baseUrl = new URL(positionals[0] ?? `http://127.0.0.1:${process.env.PORT || 3000}`);
  if (!LOOPBACK.has(baseUrl.hostname))
    throw new UsageError(`BASE_URL must be on this machine (127.0.0.1, localhost, [::1]): ${baseUrl.host}`);
  const count = (name: string, text: string | undefined, max: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}`);
    return value;
  };
  return {
    baseUrl: baseUrl.origin,
    maxExamples: count('max-examples', values['max-examples'], 100_000),
    maxTime: count('max-time', values['max-time'], 86_400),
    workers: count('workers', values.workers, 64),
    seed: values.seed,
  };
}

function apiKey(dataDir: string): { key: string; source: string } {
  if (process.env.API_KEY) return { key: process.env.API_KEY.trim(), source: 'API_KEY' };
  const file = path.join(dataDir, 'demo-api-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), source: `${file} (npm start's demo key)` };
  throw new UsageError(
    'no API key: set API_KEY (`npm run --silent keys -- create --account fuzz --json` makes one), or run `npm start`, which keeps a demo key',
  );
}

interface Service {
  /** Every `pattern` of the served document. */
  patterns: string[];
  /** False when a request without a key is served (AUTH_REQUIRED=false, the local demo). */
  keysRequired: boolean;
}

/** The service as the run will meet it: its document, whether the key works, whether keys are required, its rate limit. */
async function probe(baseUrl: string, key: string): Promise<Service> {
  const documentResponse = await fetch(`${baseUrl}/openapi.json`).catch((error: unknown) => {
    throw new UsageError(`no API answers at ${baseUrl} (${(error as Error).message}): start it first (npm start)`);
  });
  if (documentResponse.status !== 200) throw new UsageError(`${baseUrl}/openapi.json answered ${documentResponse.status}`);
  const document: unknown = await documentResponse.json();
  const patterns: string[] = [];
  JSON.stringify(document, (name, value: unknown) => {
    if (name === 'pattern' && typeof value === 'string') patterns.push(value);
    return value;
  });
  if (!patterns.includes(NO_CONTROL_CHARACTERS_PATTERN)) {
    say('warning: the served document has another control-character pattern than this checkout: it runs other code');
  }
  const withKey = await fetch(`${baseUrl}/orders?limit=1`, { headers: { authorization: `Bearer ${key}` } });
  await withKey.body?.cancel();
  if (withKey.status === 401) throw new UsageError('the service refuses the API key (401): is it a key of this service’s database?');
  if (withKey.status !== 200) throw new UsageError(`GET /orders with the key answered ${withKey.status}, not 200`);
  const quota = /"per-account";q=(\d+);w=(\d+)/.exec(withKey.headers.get('ratelimit-policy') ?? '');
  if (quota && (Number(quota[1]) * 60) / Number(quota[2]) < ENOUGH_RATE_PER_MINUTE) {
    say(
      `warning: the account may make ${quota[1]} requests in ${quota[2]} s: most cases will meet 429 (documented, so no finding, ` +
        'but nothing tested); start the service with RATE_LIMIT_PER_MINUTE=100000 RATE_LIMIT_BURST=1000 AUTH_FAILURES_PER_MINUTE=100000',
    );
  }
  const withoutKey = await fetch(`${baseUrl}/orders?limit=1`);
  await withoutKey.body?.cancel();
  return { patterns, keysRequired: withoutKey.status === 401 };
}

/** Schemathesis' own regex engines against the server's check, every code point (scripts/fuzz/patterns.py). */
function checkPatterns(python: string, patterns: string[]): void {
  const refused: number[] = [];
  for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
    if (codePoint === 0xd800) codePoint = 0xe000;
    if (controlCharacterDetails({ text: String.fromCodePoint(codePoint) }, ['text'], 'body').length > 0) refused.push(codePoint);
  }
  const result = spawnSync(python, [path.join(HERE, 'patterns.py')], {
    input: JSON.stringify({ patterns, controlPattern: NO_CONTROL_CHARACTERS_PATTERN, refused }),
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`the document's patterns, as Schemathesis reads them:\n${result.stdout}${result.stderr}`);
  }
  const { patterns: distinct, codePoints } = JSON.parse(result.stdout) as { patterns: number; codePoints: number };
  say(
    `patterns: the ${distinct} of the document compile in Python re and jsonschema-rs; the control-character one accepts ` +
      `exactly what the server does on all ${codePoints} code points (${refused.length} refused)`,
  );
}

function runSchemathesis(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, TOOLS.schemathesis), args, { cwd, env, stdio: 'inherit' });
    // Ctrl-C reaches Schemathesis too (same terminal group); a kill of this process is passed on.
    for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function newest(dir: string, suffix: string): string | undefined {
  return readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .map((name) => path.join(dir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const dataDir = path.resolve(ROOT, process.env.DATA_DIR || '.data');
  const { key, source } = apiKey(dataDir);
  say(`target ${options.baseUrl}, key from ${source}`);
  const service = await probe(options.baseUrl, key);
  checkPatterns(path.join(ROOT, TOOLS.schemathesisPython), service.patterns);

  const excluded: string[] = [];
  if (!service.keysRequired) {
    // Both test that a request without a valid key is refused, which this service does not do by design.
    excluded.push('ignored_auth', 'missing_required_header');
    say(
      'the service serves requests without a key (AUTH_REQUIRED=false, the local demo): ignored_auth and missing_required_header, ' +
        'which test that a key is required, are left out; start it with AUTH_REQUIRED=true to run them too',
    );
  }

  const runDir = path.join(dataDir, 'fuzz');
  const reportDir = path.join(runDir, 'reports', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(reportDir, { recursive: true });
  const acceptedLog = path.join(reportDir, 'accepted.ndjson');
  appendFileSync(acceptedLog, '');
  const args = [
    '--config-file',
    path.join(HERE, 'schemathesis.toml'),
    'run',
    `${options.baseUrl}/openapi.json`,
    '--checks',
    'all',
    ...(excluded.length > 0 ? ['--exclude-checks', excluded.join(',')] : []),
    '--max-examples',
    String(options.maxExamples),
    '--max-time',
    String(options.maxTime),
    '--workers',
    String(options.workers),
    ...(options.seed ? ['--seed', options.seed] : []),
    '--report',
    'junit,ndjson',
    '--report-dir',
    reportDir,
  ];
  say(`schemathesis ${args.join(' ')}`);
  // Schemathesis keeps its example database and cache in its working directory: DATA_DIR/fuzz.
  const env = { ...process.env, FUZZ_API_KEY: key, FUZZ_HOOKS: path.join(HERE, 'hooks.py'), FUZZ_ACCEPTED_LOG: acceptedLog };
  const exitCode = await runSchemathesis(args, env, runDir);

  const ndjson = newest(reportDir, '.ndjson');
  if (!ndjson) throw new Error(`Schemathesis wrote no NDJSON report in ${reportDir} (exit ${exitCode})`);
  const figures = fuzzFigures(readFileSync(ndjson, 'utf8').split('\n'));
  const accepted: Record<string, number> = {};
  for (const line of readFileSync(acceptedLog, 'utf8').split('\n').filter(Boolean)) {
    const { reason } = JSON.parse(line) as { reason: string };
    accepted[reason] = (accepted[reason] ?? 0) + 1;
  }
  if (Object.keys(accepted).length === 0) rmSync(acceptedLog);
  process.stdout.write(`\n[fuzz] ${describeFigures(figures, accepted).replaceAll('\n', '\n[fuzz] ')}\n[fuzz] reports: ${reportDir}\n`);
  const clean = exitCode === 0 && figures.serverErrors === 0 && figures.schemaMismatches === 0 && figures.errors.length === 0;
  say(clean ? 'passed: no finding' : `failed (Schemathesis exit ${exitCode})`);
  return clean ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(error instanceof Error ? error.message : String(error));
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
