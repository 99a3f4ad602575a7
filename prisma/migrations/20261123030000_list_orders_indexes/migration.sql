-- GET /orders?status=… lists newest first, ORDER BY created_at DESC, id DESC, with the keyset
-- condition (created_at, id) < (…). The index on (status, created_at) could only give created_at
-- order (an Incremental Sort on id followed) and could not take the row comparison as an index
-- condition; this one serves both, and everything the old one served (the stale-order sweep's
-- status = 'pending' AND created_at < …), so the old one is dropped.

-- DropIndex
DROP INDEX "orders_status_created_at_idx";

-- CreateIndex
CREATE INDEX "orders_status_created_at_id_idx" ON "orders"("status", "created_at" DESC, "id" DESC);
