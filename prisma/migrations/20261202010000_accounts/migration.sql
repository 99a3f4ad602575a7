-- Accounts and API keys (issue 13): every order belongs to an account; Idempotency-Key and
-- client_order_id are scoped per account; every status change records who caused it.
-- Rows that exist before this migration belong to the demo account (domain/accounts.ts).

-- CreateTable
CREATE TABLE "accounts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(100) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "accounts_name_key" ON "accounts"("name");

-- The demo account: DEMO_ACCOUNT_ID in domain/accounts.ts, the owner of requests without a key
-- where AUTH_REQUIRED=false, and of every order stored before accounts existed.
INSERT INTO "accounts" ("id", "name") VALUES ('00000000-0000-4000-8000-00000000de00', 'demo');

-- CreateTable: only the SHA-256 of a key's secret is stored (domain/api-keys.ts for the format).
CREATE TABLE "api_keys" (
    "key_id" VARCHAR(32) NOT NULL,
    "account_id" UUID NOT NULL,
    "secret_hash" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("key_id")
);
CREATE INDEX "api_keys_account_id_created_at_idx" ON "api_keys"("account_id", "created_at");
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable: a constant default adds the columns without rewriting the table.
ALTER TABLE "orders"
  ADD COLUMN "account_id" UUID NOT NULL DEFAULT '00000000-0000-4000-8000-00000000de00',
  ADD COLUMN "client_order_id" VARCHAR(64),
  ADD COLUMN "status_actor" VARCHAR(64) NOT NULL DEFAULT 'system';
ALTER TABLE "orders" ADD CONSTRAINT "orders_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE INDEX "orders_account_id_created_at_id_idx" ON "orders"("account_id", "created_at" DESC, "id" DESC);
CREATE UNIQUE INDEX "orders_account_id_client_order_id_key" ON "orders"("account_id", "client_order_id");
DROP INDEX "orders_idempotency_key_key";
CREATE UNIQUE INDEX "orders_account_id_idempotency_key_key" ON "orders"("account_id", "idempotency_key");

-- AlterTable: the same Idempotency-Key from two accounts is two requests.
ALTER TABLE "idempotency_keys" ADD COLUMN "account_id" UUID NOT NULL DEFAULT '00000000-0000-4000-8000-00000000de00';
ALTER TABLE "idempotency_keys" DROP CONSTRAINT "idempotency_keys_pkey";
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("account_id", "key");
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable: who caused each status (a key id for a client's cancel, 'system' otherwise).
ALTER TABLE "order_events" ADD COLUMN "actor" VARCHAR(64) NOT NULL DEFAULT 'system';

-- CreateTable: rate-limiter-flexible's RateLimiterPostgres table (api/rate-limit.ts), in its
-- own layout, created here so that no API process needs the right to create tables.
CREATE TABLE "rate_limits" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "rate_limits_pkey" PRIMARY KEY ("key")
);

-- The trigger of 20261202000000_executions, unchanged but for the actor: the writer of a status
-- sets "status_actor" in the same UPDATE, and the event records it.
CREATE OR REPLACE FUNCTION "record_order_event"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW."status" IS DISTINCT FROM OLD."status" THEN
    INSERT INTO "order_events" ("order_id", "status", "at", "reason", "actor")
    VALUES (NEW."id", NEW."status", clock_timestamp(), CASE WHEN NEW."status" = 'rejected' THEN NEW."rejected_reason" END, NEW."status_actor");
    INSERT INTO "order_stream" ("order_id", "kind", "state", "at")
    VALUES (NEW."id", 'status', to_jsonb(NEW), clock_timestamp());
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
