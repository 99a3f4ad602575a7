import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Each process imports only downward (issue #25): domain/ at the bottom, pure; then the layers
// several processes share; then the processes, which import none of each other. A process that
// imports another's module loads its code, its settings and its dependencies, and a change made
// for one process then breaks another without anyone looking there.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The folders read: every one whose code a process or a script loads. */
const SOURCE_FOLDERS = [
  'api',
  'worker',
  'workflows',
  'activities',
  'ingest',
  'exchange',
  'temporal',
  'metrics',
  'lifecycle',
  'prisma',
  'config',
  'domain',
  'scripts',
];

type Part =
  | { kind: 'domain' }
  | { kind: 'shared'; name: string }
  | { kind: 'process'; name: string }
  | { kind: 'scripts' }
  | { kind: 'test' }
  | { kind: 'bench' }
  | { kind: 'other'; name: string };

/**
 * What a repository path belongs to. The worker's process is worker/ with the workflows and
 * activities it runs. The venue's is exchange/venue/ and its entry, exchange/main.ts; the rest of
 * exchange/ (wire protocol, lines, errors, the client side) is shared by the worker and the ingest.
 */
function partOf(file: string): Part {
  const [top = ''] = file.split('/');
  if (top === 'domain') return { kind: 'domain' };
  if (top === 'api') return { kind: 'process', name: 'api' };
  if (top === 'worker' || top === 'workflows' || top === 'activities') return { kind: 'process', name: 'worker' };
  if (top === 'ingest') return { kind: 'process', name: 'ingest' };
  if (file === 'exchange/main.ts' || file.startsWith('exchange/venue/')) return { kind: 'process', name: 'venue' };
  if (['exchange', 'temporal', 'metrics', 'lifecycle', 'prisma', 'config'].includes(top)) return { kind: 'shared', name: top };
  if (top === 'scripts') return { kind: 'scripts' };
  if (top === 'test') return { kind: 'test' };
  if (top === 'bench') return { kind: 'bench' };
  return { kind: 'other', name: top };
}

/** Why `from` may not import `to`, or undefined when it may. */
function refusal(from: Part, to: Part): string | undefined {
  if (from.kind === 'domain') return to.kind === 'domain' ? undefined : 'domain/ is pure: it imports only domain/';
  if (from.kind === 'shared') {
    if (to.kind === 'process') return `a shared layer (${from.name}/) imports no process (${to.name})`;
    if (to.kind === 'scripts' || to.kind === 'test' || to.kind === 'bench') return `a shared layer imports no ${to.kind}/`;
    return undefined;
  }
  if (from.kind === 'process') {
    if (to.kind === 'process' && to.name !== from.name) return `the ${from.name} process imports no other process (${to.name})`;
    if (to.kind === 'scripts' || to.kind === 'test' || to.kind === 'bench') return `a process imports no ${to.kind}/`;
    return undefined;
  }
  if (from.kind === 'scripts' && to.kind === 'test') return 'scripts/ import nothing from test/';
  return undefined;
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
const IMPORT_PATTERN = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

function relativeImports(text: string): string[] {
  return Array.from(text.matchAll(IMPORT_PATTERN), (match) => match[2]!);
}

interface Offence {
  file: string;
  target: string;
  reason: string;
}

/** Each import among `files` (repository path → text) that goes where its part may not. */
function offences(files: Map<string, string>): Offence[] {
  const found: Offence[] = [];
  for (const [file, text] of files) {
    const from = partOf(file);
    for (const specifier of relativeImports(text)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      const reason = refusal(from, partOf(target));
      if (reason) found.push({ file, target, reason });
    }
  }
  return found;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|mjs)$/.test(entry.name))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .filter((file) => !file.split('/').includes('generated') && !file.split('/').includes('node_modules'));
}

describe('import boundaries', () => {
  it('no process imports another, no shared layer imports a process, domain/ imports only itself', () => {
    const files = new Map(SOURCE_FOLDERS.flatMap(sourceFiles).map((file) => [file, readFileSync(path.join(ROOT, file), 'utf8')]));
    expect(files.size).toBeGreaterThan(100);
    const found = offences(files).map(({ file, target, reason }) => `${file} → ${target}: ${reason}`);
    expect(found).toEqual([]);
  });

  it('names the imports issue #25 found', () => {
    const files = new Map([
      ['prisma/accounts-repository.ts', "import { generateApiKey } from '../api/api-key-secrets.js';"],
      ['api/placement-client.ts', "import { registerSearchAttributes } from '../worker/search-attributes.js';"],
      ['ingest/main.ts', "import { startMetricsServer } from '../worker/metrics.js';"],
      ['ingest/venue-connection.ts', "import { parseAddress } from '../exchange/venue-client.js';"],
      ['api/server.ts', "import { createOrderWorkflowProbe } from '../activities/pending-orders.js';"],
      ['api/openapi-error-schemas.ts', "import { AMEND_REFUSALS } from '../workflows/messages.js';"],
      ['scripts/chaos.ts', "const chaos = await import('../test/support/chaos.js');"],
      ['domain/order.ts', "export { loadConfig } from '../config/config.js';"],
      ['exchange/lines.ts', "import { startVenue } from './venue/venue.js';"],
      ['exchange/venue/venue.ts', "import type { IngestConfig } from '../../ingest/ingest-config.js';"],
    ]);
    expect(offences(files).map(({ file, target }) => `${file} → ${target}`)).toEqual([
      'prisma/accounts-repository.ts → api/api-key-secrets.js',
      'api/placement-client.ts → worker/search-attributes.js',
      'ingest/main.ts → worker/metrics.js',
      'api/server.ts → activities/pending-orders.js',
      'api/openapi-error-schemas.ts → workflows/messages.js',
      'scripts/chaos.ts → test/support/chaos.js',
      'domain/order.ts → config/config.js',
      'exchange/lines.ts → exchange/venue/venue.js',
      'exchange/venue/venue.ts → ingest/ingest-config.js',
    ]);
  });

  it('lets a process import downward, and its own folders', () => {
    const files = new Map([
      [
        'workflows/order-workflow.ts',
        "import { orderTerminalSignal } from '../temporal/messages.js';\nimport { x } from '../activities/placement-attempt.js';",
      ],
      ['worker/worker.ts', "import { createVenueClient } from '../exchange/venue-client.js';"],
      ['exchange/venue/venue.ts', "import { encodeLine } from '../protocol.js';"],
      ['ingest/venue-connection.ts', "import { parseAddress } from '../exchange/address.js';"],
      ['temporal/pending-orders.ts', "import type { OrdersRepository } from '../prisma/orders-repository.js';"],
      ['scripts/start.ts', "import { applyMigrations } from '../prisma/migrate.js';"],
    ]);
    expect(offences(files)).toEqual([]);
  });
});
