import { generateApiKey } from './api-key-secrets.js';
import type { PrismaClient } from './client.js';

/** What authentication needs of a key (api/auth.ts). */
export interface StoredApiKey {
  keyId: string;
  accountId: string;
  secretHash: string;
  revokedAt: Date | null;
}

/** A key as `keys list` shows it: never its secret or hash. */
export interface ApiKeyInfo {
  keyId: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface CreatedApiKey {
  accountId: string;
  accountName: string;
  keyId: string;
  /** The whole key: shown once, never stored. */
  apiKey: string;
}

export type RevokeOutcome =
  | { outcome: 'revoked'; revokedAt: Date }
  | { outcome: 'already_revoked'; revokedAt: Date }
  | { outcome: 'unknown' };

// A 60-bit key id colliding is next to impossible; a few tries make it impossible in practice.
const KEY_ID_ATTEMPTS = 3;

/** Accounts and their API keys. */
export class AccountsRepository {
  constructor(private readonly db: PrismaClient) {}

  /** The account's id, creating the account if it is new (safe under concurrent calls). */
  async ensureAccount(name: string): Promise<{ id: string; created: boolean }> {
    const rows = await this.db.$queryRaw<{ id: string; created: boolean }[]>`
      INSERT INTO "accounts" ("name") VALUES (${name})
      ON CONFLICT ("name") DO UPDATE SET "name" = EXCLUDED."name"
      RETURNING "id"::text AS id, (xmax = 0) AS created`;
    return rows[0]!;
  }

  async findAccountId(name: string): Promise<string | undefined> {
    const account = await this.db.account.findUnique({ where: { name }, select: { id: true } });
    return account?.id;
  }

  /** A new key of the account (created if new). The returned apiKey is the only copy of the secret. */
  async createKey(accountName: string): Promise<CreatedApiKey> {
    const { id: accountId } = await this.ensureAccount(accountName);
    for (let attempt = 1; ; attempt++) {
      const key = generateApiKey();
      const { count } = await this.db.apiKey.createMany({
        data: [{ keyId: key.keyId, accountId, secretHash: key.secretHash }],
        skipDuplicates: true,
      });
      if (count === 1) return { accountId, accountName, keyId: key.keyId, apiKey: key.apiKey };
      if (attempt >= KEY_ID_ATTEMPTS) throw new Error(`no free key id after ${KEY_ID_ATTEMPTS} attempts`);
    }
  }

  /** The account's keys, oldest first; undefined when there is no such account. */
  async listKeys(accountName: string): Promise<ApiKeyInfo[] | undefined> {
    const account = await this.db.account.findUnique({
      where: { name: accountName },
      select: {
        apiKeys: {
          select: { keyId: true, createdAt: true, revokedAt: true, lastUsedAt: true },
          orderBy: [{ createdAt: 'asc' }, { keyId: 'asc' }],
        },
      },
    });
    return account?.apiKeys;
  }

  /** Revokes a key for good; revoking it again changes nothing. */
  async revokeKey(keyId: string): Promise<RevokeOutcome> {
    const rows = await this.db.$queryRaw<{ revoked_at: Date; was_revoked: boolean }[]>`
      WITH old AS (SELECT "key_id", "revoked_at" FROM "api_keys" WHERE "key_id" = ${keyId} FOR UPDATE)
      UPDATE "api_keys" k SET "revoked_at" = COALESCE(old."revoked_at", now())
      FROM old WHERE k."key_id" = old."key_id"
      RETURNING k."revoked_at", (old."revoked_at" IS NOT NULL) AS was_revoked`;
    const row = rows[0];
    if (!row) return { outcome: 'unknown' };
    return { outcome: row.was_revoked ? 'already_revoked' : 'revoked', revokedAt: row.revoked_at };
  }

  async findKey(keyId: string): Promise<StoredApiKey | undefined> {
    const key = await this.db.apiKey.findUnique({
      where: { keyId },
      select: { keyId: true, accountId: true, secretHash: true, revokedAt: true },
    });
    return key ?? undefined;
  }

  /** Records that the key was used (api/auth.ts calls it at most once per cache period and process). */
  async touchKey(keyId: string, at: Date = new Date()): Promise<void> {
    await this.db.apiKey.updateMany({ where: { keyId }, data: { lastUsedAt: at } });
  }
}
