import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ApiKeyStore, authenticate } from '../../api/auth.js';
import { createLogger } from '../../config/logger.js';
import { DEMO_ACCOUNT_ID } from '../../domain/accounts.js';
import { parseApiKey } from '../../domain/api-keys.js';
import { AccountsRepository } from '../../prisma/accounts-repository.js';
import { createPrismaClient, type PrismaClient } from '../../prisma/client.js';
import { type CommandResult, keysCommand as keysCommandWith } from '../support/keys.js';
import { postWithUnfinishedBody, startMiddlewareApp } from '../support/middleware-app.js';
import { waitFor } from '../support/wait.js';

const databaseUrl = inject('databaseUrl');
const logger = createLogger('test', 'silent');
let db: PrismaClient;
let repository: AccountsRepository;
let admin: pg.Client;

const unique = () => `t-${Math.random().toString(36).slice(2, 10)}`;
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The repository, counting the lookups that reach the database. */
function countingStore(): ApiKeyStore & { lookups: number; touches: number } {
  const store = {
    lookups: 0,
    touches: 0,
    findKey: (keyId: string) => {
      store.lookups += 1;
      return repository.findKey(keyId);
    },
    touchKey: (keyId: string) => {
      store.touches += 1;
      return repository.touchKey(keyId);
    },
  };
  return store;
}

async function expectRefused(response: Response, challenge: string, message: RegExp) {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe(challenge);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(((await response.json()) as { message: string }).message).toMatch(message);
}

beforeAll(async () => {
  db = createPrismaClient({ url: databaseUrl, poolSize: 4, connectTimeoutMs: 5000, queryTimeoutMs: 10_000 });
  repository = new AccountsRepository(db);
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
});

afterAll(async () => {
  await db.$disconnect();
  await admin.end();
});

describe('API keys', () => {
  it('are stored as the SHA-256 of their secret only, and parsed back from their visible format', async () => {
    const account = unique();
    const created = await repository.createKey(account);
    expect(created.apiKey).toMatch(/^obk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKey(created.apiKey);
    expect(parsed?.keyId).toBe(created.keyId);
    const { rows } = await admin.query(
      'SELECT secret_hash, encode(sha256(convert_to($2, $3)), $4) AS expected FROM api_keys WHERE key_id = $1',
      [created.keyId, parsed!.secret, 'UTF8', 'hex'],
    );
    expect(rows[0].secret_hash).toBe(rows[0].expected);
    const { rows: anywhere } = await admin.query('SELECT count(*)::int AS n FROM api_keys WHERE secret_hash LIKE $1 OR key_id = $2', [
      `%${parsed!.secret}%`,
      parsed!.secret,
    ]);
    expect(anywhere[0].n).toBe(0);
    // A second key of the same account: the account is reused.
    const second = await repository.createKey(account);
    expect(second.accountId).toBe(created.accountId);
    expect((await repository.listKeys(account))?.map((key) => key.keyId)).toEqual([created.keyId, second.keyId]);
    expect(parseApiKey(`${created.apiKey}x`)).toBeUndefined();
    expect(parseApiKey(created.apiKey.replace('obk_', 'obx_'))).toBeUndefined();
  });
});

describe('authenticate()', () => {
  it('puts the key holder on ctx.state; refuses missing, malformed, unknown and revoked keys with 401 and the Bearer challenge', async () => {
    const key = await repository.createKey(unique());
    const other = await repository.createKey(unique());
    await repository.revokeKey(other.keyId);
    const app = await startMiddlewareApp([authenticate({ keys: repository, required: true, cacheTtlMs: 5000, logger })]);
    try {
      const ok = await fetch(`${app.url}/whoami`, { headers: bearer(key.apiKey) });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ accountId: key.accountId, keyId: key.keyId });
      // The scheme is case-insensitive (RFC 7235).
      expect((await fetch(`${app.url}/whoami`, { headers: { Authorization: `bearer ${key.apiKey}` } })).status).toBe(200);

      await expectRefused(await fetch(`${app.url}/whoami`), 'Bearer', /Missing API key/);
      await expectRefused(await fetch(`${app.url}/whoami`, { headers: bearer('not-a-key') }), 'Bearer error="invalid_token"', /Malformed/);
      await expectRefused(
        await fetch(`${app.url}/whoami`, { headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }),
        'Bearer error="invalid_request"',
        /Malformed/,
      );
      const unknown = `obk_${'a'.repeat(12)}_${'A'.repeat(43)}`;
      await expectRefused(
        await fetch(`${app.url}/whoami`, { headers: bearer(unknown) }),
        'Bearer error="invalid_token"',
        /^Invalid API key$/,
      );
      // A known key id with another secret is as unknown as any.
      const forged = `obk_${key.keyId}_${'B'.repeat(42)}A`;
      await expectRefused(
        await fetch(`${app.url}/whoami`, { headers: bearer(forged) }),
        'Bearer error="invalid_token"',
        /^Invalid API key$/,
      );
      await expectRefused(await fetch(`${app.url}/whoami`, { headers: bearer(other.apiKey) }), 'Bearer error="invalid_token"', /revoked/);
    } finally {
      await app.close();
    }
  });

  it('answers 401 before reading the body: a POST whose body never finishes is refused at once', async () => {
    const revoked = await repository.createKey(unique());
    await repository.revokeKey(revoked.keyId);
    const app = await startMiddlewareApp([authenticate({ keys: repository, required: true, cacheTtlMs: 5000, logger })]);
    const headerSets: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer garbage' },
      { Authorization: `Bearer obk_${'b'.repeat(12)}_${'A'.repeat(43)}` },
      { Authorization: `Bearer ${revoked.apiKey}` },
    ];
    const clients = headerSets.map((headers) => postWithUnfinishedBody(app.port, headers));
    try {
      for (const client of clients) {
        const answer = await client.answer; // the body is never finished: only an early answer resolves this
        expect(answer).toMatch(/^HTTP\/1\.1 401 /);
        expect(answer).toMatch(/\r\nWWW-Authenticate: Bearer/i);
        expect(answer).toMatch(/\r\nConnection: close\r\n/i);
      }
      expect(app.counters.bodyReads).toBe(0);
    } finally {
      for (const client of clients) client.destroy();
      await app.close();
    }
  });

  it('looks a key up once per cache period (found or not), and sees a revocation within AUTH_CACHE_TTL_MS', async () => {
    const key = await repository.createKey(unique());
    const store = countingStore();
    const ttlMs = 1500;
    const app = await startMiddlewareApp([authenticate({ keys: store, required: true, cacheTtlMs: ttlMs, logger })]);
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => fetch(`${app.url}/whoami`, { headers: bearer(key.apiKey) })));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(store.lookups).toBe(1); // concurrent requests shared one lookup, later ones hit the cache
      expect(store.touches).toBe(1); // and one update of last_used_at, not one per request that waited for the lookup
      const unknown = `obk_${'c'.repeat(12)}_${'A'.repeat(43)}`;
      for (let i = 0; i < 5; i++) expect((await fetch(`${app.url}/whoami`, { headers: bearer(unknown) })).status).toBe(401);
      expect(store.lookups).toBe(2);
      // The use is recorded (once per lookup, not per request).
      await waitFor(async () => ((await repository.listKeys(key.accountName))?.[0]?.lastUsedAt ? true : undefined), 10_000, 'last_used_at');

      const revokedAt = Date.now();
      expect((await repository.revokeKey(key.keyId)).outcome).toBe('revoked');
      // The bound: within the cache period (plus slack for a busy machine), every request is refused.
      const refusedAt = await waitFor(
        async () => ((await fetch(`${app.url}/whoami`, { headers: bearer(key.apiKey) })).status === 401 ? Date.now() : undefined),
        ttlMs + 10_000,
        'the revoked key refused',
      );
      expect(refusedAt - revokedAt).toBeLessThan(ttlMs + 10_000);
      expect(store.lookups).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('with AUTH_REQUIRED=false: no Authorization acts as the demo account, a key as its own account, a bad key is still 401', async () => {
    const key = await repository.createKey(unique());
    const app = await startMiddlewareApp([authenticate({ keys: repository, required: false, cacheTtlMs: 5000, logger })]);
    try {
      expect(await (await fetch(`${app.url}/whoami`)).json()).toEqual({ accountId: DEMO_ACCOUNT_ID, keyId: null });
      expect(await (await fetch(`${app.url}/whoami`, { headers: bearer(key.apiKey) })).json()).toEqual({
        accountId: key.accountId,
        keyId: key.keyId,
      });
      await expectRefused(await fetch(`${app.url}/whoami`, { headers: bearer('nope') }), 'Bearer error="invalid_token"', /Malformed/);
      const { rows } = await admin.query('SELECT name FROM accounts WHERE id = $1', [DEMO_ACCOUNT_ID]);
      expect(rows).toEqual([{ name: 'demo' }]);
    } finally {
      await app.close();
    }
  });
});

/** `npm run --silent keys -- …` as a user runs it, on the suite's database. */
function keysCommand(...args: string[]): Promise<CommandResult> {
  return keysCommandWith({ DATABASE_URL: databaseUrl }, ...args);
}

describe('npm run keys', () => {
  it('creates, lists and revokes keys with the documented outputs; the created key authenticates until revoked', {
    timeout: 180_000,
  }, async () => {
    const account = unique();
    const created = await keysCommand('create', '--account', account, '--json');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(
      new RegExp(`^\\{"account": "${account}", "key_id": "[a-z2-7]{12}", "api_key": "obk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}"\\}\\n$`),
    );
    const { key_id: keyId, api_key: apiKey } = JSON.parse(created.stdout) as { key_id: string; api_key: string };
    expect(apiKey.startsWith(`obk_${keyId}_`)).toBe(true);

    const app = await startMiddlewareApp([authenticate({ keys: repository, required: true, cacheTtlMs: 0, logger })]);
    try {
      expect((await fetch(`${app.url}/whoami`, { headers: bearer(apiKey) })).status).toBe(200);
      await waitFor(async () => ((await repository.listKeys(account))?.[0]?.lastUsedAt ? true : undefined), 10_000, 'last_used_at');

      const listed = await keysCommand('list', '--account', account, '--json');
      expect(listed.code, listed.stderr).toBe(0);
      const iso = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
      expect(listed.stdout).toMatch(
        new RegExp(`^\\[\\{"key_id": "${keyId}", "created_at": "${iso}", "revoked_at": null, "last_used_at": "${iso}"\\}\\]\\n$`),
      );
      expect(listed.stdout).not.toContain(apiKey.slice(-43));

      const revoked = await keysCommand('revoke', keyId);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toBe(`revoked API key ${keyId}\n`);
      expect((await fetch(`${app.url}/whoami`, { headers: bearer(apiKey) })).status).toBe(401);
      const again = await keysCommand('revoke', keyId);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/already revoked/);
      const relisted = JSON.parse((await keysCommand('list', '--account', account, '--json')).stdout) as { revoked_at: string | null }[];
      expect(relisted[0]?.revoked_at).toMatch(new RegExp(`^${iso}$`));
    } finally {
      await app.close();
    }

    const unknown = await keysCommand('revoke', 'zzzzzzzzzzzz');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no API key with id zzzzzzzzzzzz/);
    expect(unknown.stdout).toBe('');
    const usage = await keysCommand('create');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--account/);
  });
});

describe('npm run keys without DATABASE_URL', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'keys-data-'));
    await chmod(dataDir, 0o755); // PostgreSQL runs as its own user when we are root
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("starts npm start's embedded PostgreSQL for the command when it is not running, keeps the data, and stops it after", {
    timeout: 300_000,
  }, async () => {
    const port = await getPort();
    const env = { DATA_DIR: dataDir, POSTGRES_PORT: String(port) };
    const created = await keysCommandWith(env, 'create', '--account', 'local', '--json');
    expect(created.code, created.stderr).toBe(0);
    const { key_id: keyId } = JSON.parse(created.stdout) as { key_id: string };
    expect(existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(await listening(port)).toBe(false);
    const listed = await keysCommandWith(env, 'list', '--account', 'local', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { key_id: string }[]).map((key) => key.key_id)).toEqual([keyId]);
    expect(await listening(port)).toBe(false);
  });
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
