-- Who asked to cancel an order (the key id of the DELETE): the cancel's status change names it
-- as its actor whenever it happens, by the order's workflow or from the venue's report.
ALTER TABLE "orders" ADD COLUMN "cancel_requested_by" VARCHAR(64);
