-- An order's life after placement (docs/executions.md): fills from the venue's execution
-- stream, kept by the ingestion process; the terminal outbox to the order's workflow; the
-- order event stream that GET /events serves.

-- AlterEnum
ALTER TYPE "OrderStatus" ADD VALUE 'partially_filled';
ALTER TYPE "OrderStatus" ADD VALUE 'filled';
ALTER TYPE "OrderStatus" ADD VALUE 'expired';

-- CreateEnum
CREATE TYPE "TimeInForce" AS ENUM ('day', 'gtc');

-- AlterTable
ALTER TABLE "orders"
  ADD COLUMN "time_in_force" "TimeInForce" NOT NULL DEFAULT 'day',
  ADD COLUMN "filled_quantity" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "filled_notional" DECIMAL(38,4) NOT NULL DEFAULT 0,
  ADD COLUMN "filled_at" TIMESTAMPTZ(3),
  ADD COLUMN "expired_at" TIMESTAMPTZ(3),
  ADD COLUMN "expires_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "executions" (
    "id" BIGSERIAL NOT NULL,
    "venue" VARCHAR(16) NOT NULL,
    "exec_id" VARCHAR(64) NOT NULL,
    "order_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "exec_type" VARCHAR(16) NOT NULL,
    "order_status" VARCHAR(16) NOT NULL,
    "last_qty" INTEGER NOT NULL,
    "last_px" DECIMAL(20,4),
    "cum_qty" INTEGER NOT NULL,
    "leaves_qty" INTEGER NOT NULL,
    "avg_px" DECIMAL(22,6),
    "ref_exec_id" VARCHAR(64),
    "text" VARCHAR(500),
    "venue_time" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "executions_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "executions_venue_exec_id_key" ON "executions"("venue", "exec_id");
CREATE INDEX "executions_order_id_id_idx" ON "executions"("order_id", "id");
ALTER TABLE "executions" ADD CONSTRAINT "executions_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "venue_sessions" (
    "session" VARCHAR(64) NOT NULL,
    "next_seq" BIGINT NOT NULL DEFAULT 1,
    "epoch" BIGINT NOT NULL DEFAULT 0,
    "holder" VARCHAR(200),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "venue_sessions_pkey" PRIMARY KEY ("session")
);

-- CreateTable
CREATE TABLE "execution_rejects" (
    "id" BIGSERIAL NOT NULL,
    "session" VARCHAR(64) NOT NULL,
    "seq" BIGINT,
    "reason" TEXT NOT NULL,
    "raw" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "execution_rejects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_terminal_outbox" (
    "order_id" UUID NOT NULL,
    "status" "OrderStatus" NOT NULL,
    "filled_quantity" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "relayed_at" TIMESTAMPTZ(3),

    CONSTRAINT "order_terminal_outbox_pkey" PRIMARY KEY ("order_id")
);
CREATE INDEX "order_terminal_outbox_unrelayed_idx" ON "order_terminal_outbox"("created_at") WHERE "relayed_at" IS NULL;
ALTER TABLE "order_terminal_outbox" ADD CONSTRAINT "order_terminal_outbox_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable: the order event stream (GET /events). A reader orders by (tx, id): every
-- transaction below pg_snapshot_xmin(pg_current_snapshot()) is finished, so reading only those,
-- in that order, never skips a row that commits late (ids alone are not in commit order).
CREATE TABLE "order_stream" (
    "id" BIGSERIAL NOT NULL,
    "tx" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    "order_id" UUID NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "state" JSONB NOT NULL,
    "execution" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_stream_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "order_stream_tx_id_idx" ON "order_stream"("tx", "id");
CREATE INDEX "order_stream_order_id_tx_id_idx" ON "order_stream"("order_id", "tx", "id");

-- Every status an order takes goes to the stream too, with the order as it stands after it.
CREATE OR REPLACE FUNCTION "record_order_event"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW."status" IS DISTINCT FROM OLD."status" THEN
    INSERT INTO "order_events" ("order_id", "status", "at", "reason")
    VALUES (NEW."id", NEW."status", clock_timestamp(), CASE WHEN NEW."status" = 'rejected' THEN NEW."rejected_reason" END);
    INSERT INTO "order_stream" ("order_id", "kind", "state", "at")
    VALUES (NEW."id", 'status', to_jsonb(NEW), clock_timestamp());
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
