import type { PrismaClient } from './client.js';

export interface StoredKey {
  requestHash: string;
  responseStatus: number | null;
  responseBody: string | null;
  lockedAt: Date;
  expiresAt: Date;
}

/** Idempotency keys of POST /orders and the answers stored under them. */
export class IdempotencyRepository {
  constructor(private readonly db: PrismaClient) {}

  /** Takes the key for a new request; false when it exists already. */
  async claim(key: string, requestHash: string, ttlMs: number): Promise<boolean> {
    const now = new Date();
    const { count } = await this.db.idempotencyKey.createMany({
      data: [{ key, requestHash, lockedAt: now, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs) }],
      skipDuplicates: true,
    });
    return count === 1;
  }

  async find(key: string): Promise<StoredKey | null> {
    // findFirst until requests carry their account: the key is unique per account since 20261202010000_accounts.
    return this.db.idempotencyKey.findFirst({
      where: { key },
      select: { requestHash: true, responseStatus: true, responseBody: true, lockedAt: true, expiresAt: true },
    });
  }

  /** Takes over a key whose request died holding it; false if someone else did first. */
  async takeOver(key: string, lockedAt: Date): Promise<boolean> {
    const { count } = await this.db.idempotencyKey.updateMany({
      where: { key, lockedAt, responseStatus: null },
      data: { lockedAt: new Date() },
    });
    return count === 1;
  }

  async complete(key: string, orderId: string, status: number, body: string): Promise<void> {
    await this.db.idempotencyKey.updateMany({ where: { key }, data: { orderId, responseStatus: status, responseBody: body } });
  }

  /** Forgets a key whose request failed, so that a retry with it is processed afresh. */
  async release(key: string): Promise<void> {
    await this.db.idempotencyKey.deleteMany({ where: { key, responseStatus: null } });
  }

  /** Deletes expired keys (all, or the one given) and frees the orders that held them. */
  async deleteExpired(key?: string): Promise<number> {
    const rows = await this.db.$queryRaw<{ deleted: number }[]>`
      WITH gone AS (
        DELETE FROM "idempotency_keys" WHERE "expires_at" <= now() AND (${key ?? null}::varchar IS NULL OR "key" = ${key ?? null})
        RETURNING "key"
      ), freed AS (
        UPDATE "orders" SET "idempotency_key" = NULL WHERE "idempotency_key" IN (SELECT "key" FROM gone) RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`;
    return rows[0]?.deleted ?? 0;
  }
}
