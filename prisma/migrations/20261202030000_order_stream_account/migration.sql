-- GET /events by account (issue 23): each stream row names its order's account, so the poller
-- routes an event without decoding its state, and a catch-up reads one account's rows through
-- an index instead of decoding every row's state to filter it. Positions (tx, id) are not
-- touched: an SSE id issued before this migration names the same row after it.

-- AlterTable: rows whose state has no account (stored before accounts existed) are the demo
-- account's, as their orders are (what the reader's COALESCE said until now).
ALTER TABLE "order_stream" ADD COLUMN "account_id" UUID;
UPDATE "order_stream" SET "account_id" = COALESCE(("state"->>'account_id')::uuid, '00000000-0000-4000-8000-00000000de00');
ALTER TABLE "order_stream" ALTER COLUMN "account_id" SET NOT NULL;

-- CreateIndex: a catch-up reads an account's rows after a position, in stream order (one order's
-- go by "order_stream_order_id_tx_id_idx").
CREATE INDEX "order_stream_account_id_tx_id_idx" ON "order_stream"("account_id", "tx", "id");

-- The writers name the account (the orders trigger below, the ingestion's fill rows). A row
-- inserted without one (a writer of the version before, during a rolling deploy) takes it from
-- its state as the backfill did; the WHEN clause keeps the function out of every other insert.
CREATE FUNCTION "order_stream_account_from_state"() RETURNS trigger AS $$
BEGIN
  NEW."account_id" := COALESCE((NEW."state"->>'account_id')::uuid, '00000000-0000-4000-8000-00000000de00');
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER "order_stream_account_from_state" BEFORE INSERT ON "order_stream"
  FOR EACH ROW WHEN (NEW."account_id" IS NULL) EXECUTE FUNCTION "order_stream_account_from_state"();

-- The trigger of 20261202010000_accounts, unchanged but for the stream row's account.
CREATE OR REPLACE FUNCTION "record_order_event"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW."status" IS DISTINCT FROM OLD."status" THEN
    INSERT INTO "order_events" ("order_id", "status", "at", "reason", "actor")
    VALUES (NEW."id", NEW."status", clock_timestamp(), CASE WHEN NEW."status" = 'rejected' THEN NEW."rejected_reason" END, NEW."status_actor");
    INSERT INTO "order_stream" ("order_id", "account_id", "kind", "state", "at")
    VALUES (NEW."id", NEW."account_id", 'status', to_jsonb(NEW), clock_timestamp());
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
