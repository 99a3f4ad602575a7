-- Amend (issue 26): who asked to amend an order (the key id of the latest PATCH /orders/{id}).
-- The amend's own row of order_events, written by the ingestion when the venue's `replaced`
-- report is applied, names it as its actor. Its quantity, limit_price and time_in_force are
-- updated then, in the same transaction as the fills (no column changes for that).
ALTER TABLE "orders" ADD COLUMN "amend_requested_by" VARCHAR(64);
