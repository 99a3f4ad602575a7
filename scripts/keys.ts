// API keys of accounts (domain/api-keys.ts). `npm run --silent keys -- <command>`:
//   create --account NAME [--json]   a new key of the account (created if new); the key is shown once
//   list --account NAME [--json]     the account's keys, without secrets
//   revoke KEY_ID                    refuses the key from then on (every API process within AUTH_CACHE_TTL_MS)
// The database: DATABASE_URL, or else the embedded PostgreSQL of `npm start` (DATA_DIR/postgres on
// POSTGRES_PORT): used while `npm start` runs, otherwise started for the command and stopped after.
// Pending migrations are applied first. Exit codes: 0 done, 1 refused or failed (message on stderr), 2 usage.
import { parseArgs } from 'node:util';
import { isAccountName } from '../domain/accounts.js';
import { isKeyId } from '../domain/api-keys.js';
import { AccountsRepository, type ApiKeyInfo } from '../prisma/accounts-repository.js';
import { createPrismaClient } from '../prisma/client.js';
import { applyMigrations } from '../prisma/migrate.js';
import { openLocalDatabase } from './infra/local-postgres.js';

const USAGE = `usage: npm run --silent keys -- create --account NAME [--json]
       npm run --silent keys -- list --account NAME [--json]
       npm run --silent keys -- revoke KEY_ID`;

class UsageError extends Error {}
class RefusedError extends Error {}

/** JSON with a space after each `:` and `,` (the documented output: `{"account": "x", "key_id": …}`). */
function spacedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(', ')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}: ${spacedJson(item)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

interface Command {
  name: 'create' | 'list' | 'revoke';
  account?: string;
  keyId?: string;
  json: boolean;
}

function parseCommand(argv: string[]): Command {
  let parsed: ReturnType<typeof parseArgs<{ options: { account: { type: 'string' }; json: { type: 'boolean' } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: { account: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [name, ...positionals] = parsed.positionals;
  const json = parsed.values.json ?? false;
  const account = parsed.values.account;
  if (name === 'create' || name === 'list') {
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    if (account === undefined) throw new UsageError(`${name} needs --account NAME`);
    if (!isAccountName(account)) throw new UsageError('--account must be 1-100 letters, digits, ".", "_", "-" or "@"');
    return { name, account, json };
  }
  if (name === 'revoke') {
    if (account !== undefined) throw new UsageError('revoke takes a key id, not --account');
    if (positionals.length !== 1) throw new UsageError('revoke needs exactly one KEY_ID');
    const keyId = positionals[0]!;
    if (!isKeyId(keyId)) throw new UsageError('KEY_ID must be the 12-character key id (as `list` shows it)');
    return { name, keyId, json };
  }
  throw new UsageError(name === undefined ? 'no command given' : `unknown command: ${name}`);
}

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

function keyView(key: ApiKeyInfo) {
  return { key_id: key.keyId, created_at: iso(key.createdAt), revoked_at: iso(key.revokedAt), last_used_at: iso(key.lastUsedAt) };
}

async function run(command: Command, keys: AccountsRepository): Promise<string> {
  switch (command.name) {
    case 'create': {
      const created = await keys.createKey(command.account!);
      if (command.json) return spacedJson({ account: created.accountName, key_id: created.keyId, api_key: created.apiKey });
      return `API key of account ${created.accountName} (key id ${created.keyId}), shown this once:\n${created.apiKey}`;
    }
    case 'list': {
      const list = await keys.listKeys(command.account!);
      if (list === undefined) throw new RefusedError(`no account named ${command.account}`);
      if (command.json) return spacedJson(list.map(keyView));
      if (list.length === 0) return `account ${command.account} has no keys`;
      return list
        .map((key) => {
          const state = key.revokedAt ? `revoked ${iso(key.revokedAt)}` : 'active';
          return `${key.keyId}  created ${iso(key.createdAt)}  ${state}  last used ${iso(key.lastUsedAt) ?? 'never'}`;
        })
        .join('\n');
    }
    case 'revoke': {
      const result = await keys.revokeKey(command.keyId!);
      if (result.outcome === 'unknown') throw new RefusedError(`no API key with id ${command.keyId}`);
      const text =
        result.outcome === 'revoked'
          ? `revoked API key ${command.keyId}`
          : `API key ${command.keyId} was already revoked (at ${iso(result.revokedAt)})`;
      if (command.json)
        return spacedJson({ key_id: command.keyId, revoked_at: iso(result.revokedAt), already_revoked: result.outcome !== 'revoked' });
      return text;
    }
  }
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`keys: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const database = await openLocalDatabase();
  try {
    await applyMigrations(database.url);
    const db = createPrismaClient({ url: database.url, poolSize: 1, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
    try {
      process.stdout.write(`${await run(command, new AccountsRepository(db))}\n`);
      return 0;
    } finally {
      await db.$disconnect();
    }
  } finally {
    await database.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `keys: ${error instanceof RefusedError ? error.message : `failed: ${error instanceof Error ? error.message : String(error)}`}\n`,
    );
    process.exitCode = 1;
  },
);
