-- Issue 23: a fill row of order_stream carried two JSON documents, the order's changeable fields
-- (state) and the venue's report (execution), and parsing them into jsonb was the largest part of
-- the ingestion's cost per report (measured with COPY, 2,000-row batches: the fill row 34 µs,
-- 15 µs without the two documents). A fill row written from now on holds the same facts as plain
-- columns: the fields a fill can change, as they stand after it, and the id of its execution
-- (executions.id, written by the same transaction) instead of a copy of the report. The reader
-- (prisma/order-stream.ts) takes a row's fields from its state where it has one (status rows, and
-- fill rows written before this migration) and from these columns otherwise. Positions (tx, id)
-- are not touched: an SSE id issued before this migration names the same row after it.
--
-- Adding nullable columns without a default and dropping NOT NULL rewrite nothing.
ALTER TABLE "order_stream" ALTER COLUMN "state" DROP NOT NULL;
ALTER TABLE "order_stream"
  ADD COLUMN "execution_id" BIGINT,
  ADD COLUMN "status" "OrderStatus",
  ADD COLUMN "filled_quantity" INTEGER,
  ADD COLUMN "filled_notional" DECIMAL(38,4),
  ADD COLUMN "placed_at" TIMESTAMPTZ(3),
  ADD COLUMN "filled_at" TIMESTAMPTZ(3),
  ADD COLUMN "cancelled_at" TIMESTAMPTZ(3),
  ADD COLUMN "expired_at" TIMESTAMPTZ(3),
  ADD COLUMN "rejected_at" TIMESTAMPTZ(3),
  ADD COLUMN "rejected_reason" TEXT,
  ADD COLUMN "expires_at" TIMESTAMPTZ(3);

-- A row has its order's fields one way or the other.
ALTER TABLE "order_stream" ADD CONSTRAINT "order_stream_state_or_columns"
  CHECK ("state" IS NOT NULL OR ("status" IS NOT NULL AND "filled_quantity" IS NOT NULL AND "filled_notional" IS NOT NULL)) NOT VALID;
