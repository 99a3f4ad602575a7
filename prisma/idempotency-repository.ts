import { DEMO_ACCOUNT_ID } from '../domain/accounts.js';
import type { PrismaClient } from './client.js';

export interface StoredKey {
  requestHash: string;
  responseStatus: number | null;
  responseBody: string | null;
  lockedAt: Date;
  expiresAt: Date;
}

/**
 * Idempotency keys of POST /orders and the answers stored under them, for one account: the same
 * key from two accounts is two requests. Without an account: the demo account's keys.
 */
export class IdempotencyRepository {
  constructor(
    private readonly db: PrismaClient,
    private readonly accountId: string = DEMO_ACCOUNT_ID,
  ) {}

  /** The same store, for the keys of `accountId`. */
  forAccount(accountId: string): IdempotencyRepository {
    return new IdempotencyRepository(this.db, accountId);
  }

  /** Takes the key for a new request; false when it exists already. */
  async claim(key: string, requestHash: string, ttlMs: number): Promise<boolean> {
    const now = new Date();
    const { count } = await this.db.idempotencyKey.createMany({
      data: [{ accountId: this.accountId, key, requestHash, lockedAt: now, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs) }],
      skipDuplicates: true,
    });
    return count === 1;
  }

  async find(key: string): Promise<StoredKey | null> {
    return this.db.idempotencyKey.findFirst({
      where: { accountId: this.accountId, key },
      select: { requestHash: true, responseStatus: true, responseBody: true, lockedAt: true, expiresAt: true },
    });
  }

  /** Takes over a key whose request died holding it; false if someone else did first. */
  async takeOver(key: string, lockedAt: Date): Promise<boolean> {
    const { count } = await this.db.idempotencyKey.updateMany({
      where: { accountId: this.accountId, key, lockedAt, responseStatus: null },
      data: { lockedAt: new Date() },
    });
    return count === 1;
  }

  async complete(key: string, orderId: string, status: number, body: string): Promise<void> {
    await this.db.idempotencyKey.updateMany({
      where: { accountId: this.accountId, key },
      data: { orderId, responseStatus: status, responseBody: body },
    });
  }

  /** Forgets a key whose request failed, so that a retry with it is processed afresh. */
  async release(key: string): Promise<void> {
    await this.db.idempotencyKey.deleteMany({ where: { accountId: this.accountId, key, responseStatus: null } });
  }

  /** Deletes expired keys (of every account, or the account's one given) and frees the orders that held them. */
  async deleteExpired(key?: string): Promise<number> {
    const rows = await this.db.$queryRaw<{ deleted: number }[]>`
      WITH gone AS (
        DELETE FROM "idempotency_keys" WHERE "expires_at" <= now()
          AND (${key ?? null}::varchar IS NULL OR ("key" = ${key ?? null} AND "account_id" = ${this.accountId}::uuid))
        RETURNING "account_id", "key"
      ), freed AS (
        UPDATE "orders" o SET "idempotency_key" = NULL FROM gone
        WHERE o."account_id" = gone."account_id" AND o."idempotency_key" = gone."key" RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`;
    return rows[0]?.deleted ?? 0;
  }
}
